/**
 * The browser client in headless Chromium on loopback (issue 12), today's client beside the
 * full-sync client it replaced (the y-websocket provider and a Y.Doc, commit OLD_CLIENT_REF,
 * built from git in the same run):
 *
 * - cold start with 10,000 and 100,000 placements since the latest snapshot: time to the first
 *   board on screen and to the exact board, and the bytes the page transferred (compressed, as
 *   sent: HTTP bodies and headers, WebSocket frames);
 * - a returning visit (the same browser profile as its first visit), online with the service worker
 *   running, online with it stopped, and offline: time to the first board;
 * - frames while 1,000 placements a second arrive and the view pans: frames per second and the
 *   95th percentile frame time;
 * - the page's JS heap with the board open (after a garbage collection).
 *
 * The board is 1000x1000 and "realistic": 200,000 placements, most of them filling a few hundred
 * solid rectangles (art), 15% scattered (noise), like r/place's (a board of pure noise makes a
 * PNG three times larger: docs/CLIENT.md "Measured"). Times are from navigation start
 * (page.goto) to the frame that shows it, recorded by the page itself once a frame from an init
 * script (bench/helpers/page-measures.ts watchPage: polling from outside injected ~100 ms of
 * Playwright's script into the page's start; only while the canvas is visible); today's client also marks them itself (performance marks
 * 'tessera:first-paint' and 'tessera:live'), reported in the details. The first board may be the
 * HTML's preview image (client/ui/board-preview.ts), shown before the script runs: its render
 * time comes from Chromium's Element Timing (elementtiming="board-preview"); the first board on
 * screen is the earlier of the two, both in the details. The exact board is read on the canvas
 * only. Each first-visit and return-visit figure is the median of CLIENT_VISITS page loads (one
 * with --quick), each in a profile of its own, every value in the details: one page load spreads
 * by tens of ms on this machine.
 *
 * Beside them, the browser's floor (bench/helpers/page-floor.ts): a static page of nothing but
 * the snapshot's PNG, first visit and from the HTTP cache, and the same page controlled by a
 * service worker with the client's static routes (its return visits online, with the worker
 * stopped, and offline, the PNG from Cache Storage), in the same Chromium, measured the same way:
 * no client can show the board sooner on this machine.
 */
import { execSync } from 'node:child_process'
import { mkdirSync, symlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { build } from 'vite'
import { KEPT_IMAGE_KEY_PREFIX } from '../client/sync/kept-image.ts'
import { KEPT_KEY_PREFIX } from '../client/sync/start-sources.ts'
import type { Room } from '../relay/room.ts'
import { colorToRgb } from '../shared/palette.ts'
import { buildClient, launchChromium } from '../test/helpers/browser.ts'
import { startOnDemandSnapshotter } from '../test/helpers/on-demand-snapshotter.ts'
import { prng } from '../test/helpers/prng.ts'
import { startTestRelay, type TestRelay } from '../test/helpers/start-relay.ts'
import { makeTmpDir } from '../test/helpers/tmp-dir.ts'
import { waitFor } from '../test/helpers/wait-for.ts'
import { measurePageFloor, RETURN_VISITS, type ReturnVisit } from './helpers/page-floor.ts'
import {
  BENCH_VIEWPORT,
  countBytes,
  firstBoardAt,
  framesWhilePanning,
  heapBytes,
  marks,
  pageBitmap,
  stopServiceWorkers,
  watchPage,
} from './helpers/page-measures.ts'
import { median } from './helpers/stats.ts'
import type { FigureOptions, Row } from './helpers/table.ts'

/** The full-sync client before issue 12: y-websocket's provider and a Y.Doc of the whole board. */
export const OLD_CLIENT_REF = '4d42b84'
const SIDE = 1000
/** Page loads behind each first-visit and return-visit figure of a full run: the figure is their median. */
export const CLIENT_VISITS = 5
/** How each worker floor row names its visit, as the client's return-visit rows do. */
const WORKER_VISIT_LABEL: Record<ReturnVisit, string> = { online: 'online', stopped: 'online, service worker stopped', offline: 'offline' }
const root = resolve(import.meta.dirname, '..')

type Intent = { x: number; y: number; color: number }

/**
 * r/place-like placements: 85% fill solid rectangles of 8 to 64 tiles a side in turn, 15% land
 * anywhere. The board's edge rows and columns are left to the marker tiles the times are read from.
 */
const realistic = (rand: () => number) => {
  let shape: { x: number; y: number; w: number; h: number; color: number; i: number } | null = null
  const inner = () => 1 + Math.floor(rand() * (SIDE - 2))
  return (): Intent => {
    if (rand() < 0.15) return { x: inner(), y: inner(), color: 1 + Math.floor(rand() * 15) }
    if (!shape || shape.i >= shape.w * shape.h) {
      const w = 8 + Math.floor(rand() * 57)
      const h = 8 + Math.floor(rand() * 57)
      shape = {
        x: 1 + Math.floor(rand() * (SIDE - 2 - w)),
        y: 1 + Math.floor(rand() * (SIDE - 2 - h)),
        w,
        h,
        color: 1 + Math.floor(rand() * 15),
        i: 0,
      }
    }
    const s = shape
    const at = { x: s.x + (s.i % s.w), y: s.y + Math.floor(s.i / s.w), color: s.color }
    s.i += 1
    return at
  }
}

const placeMany = async (room: Room, next: () => Intent, n: number) => {
  const batch: Promise<unknown>[] = []
  for (let i = 0; i < n; i++) {
    batch.push(room.place(next(), { user: `u${i % 1000}`, ip: '127.0.0.1', isAdmin: false }))
    if (batch.length >= 2000) await Promise.all(batch.splice(0))
  }
  await Promise.all(batch)
}

export const runClientStart = async (o: FigureOptions): Promise<Row[]> => {
  const before = o.quick ? 20_000 : 200_000
  const sinceSmall = o.quick ? 2_000 : 10_000
  const sinceLarge = o.quick ? 10_000 : 100_000
  // Page loads per figure: a single one spreads by tens of ms on this machine (docs/PERFORMANCE.md).
  const visits = o.quick ? 1 : CLIENT_VISITS
  const newDir = makeTmpDir('tessera-bench-client-new-')
  const oldSrc = makeTmpDir('tessera-bench-client-oldsrc-')
  const oldDir = makeTmpDir('tessera-bench-client-old-')
  const data = makeTmpDir('tessera-bench-client-data-')
  const dirs = [newDir, oldSrc, oldDir, data]
  const browser = await launchChromium()
  const running: { relay: TestRelay | null } = { relay: null }
  try {
    execSync(`git archive ${OLD_CLIENT_REF} client shared vite.config.ts package.json tsconfig.base.json | tar -x -C ${oldSrc.dir}`, {
      cwd: root,
    })
    symlinkSync(join(root, 'node_modules'), join(oldSrc.dir, 'node_modules'))
    mkdirSync(oldDir.dir, { recursive: true })
    await buildClient(newDir.dir)
    await build({
      configFile: join(oldSrc.dir, 'vite.config.ts'),
      mode: 'production',
      logLevel: 'warn',
      build: { outDir: oldDir.dir, emptyOutDir: true },
    })

    // The default proof of work (18 bits): a first visit pays it as a visitor would.
    const env = { BOARD_WIDTH: String(SIDE), BOARD_HEIGHT: String(SIDE), BOARD_COOLDOWN_MS: '0', SESSION_POW_BITS: '18' }
    const startRelay = async (staticDir: string, port: number) => {
      await running.relay?.close()
      running.relay = await startTestRelay({ dataDir: data.dir, env: { ...env, STATIC_DIR: staticDir, PORT: String(port) } })
      return running.relay
    }
    let r = await startRelay(newDir.dir, 0)
    const port = r.port
    const room = () => (running.relay as TestRelay).rooms.get('main') as Room
    const next = realistic(prng(1))
    await placeMany(room(), next, before)
    // A marker tile in the snapshot (the first paint shows it) and, later, one placed last (the exact board shows it).
    let markerColor = 1
    const mark = async (x: number, y: number) => {
      markerColor = (markerColor % 15) + 1
      await room().place({ x, y, color: markerColor }, { user: 'marker', ip: '127.0.0.1', isAdmin: false })
      return markerColor
    }
    const paintColor = await mark(0, 0)
    const snapshotter = await startOnDemandSnapshotter({ dataDir: data.dir, wsBase: r.wsBase })
    await waitFor(() => snapshotter.synced(), { timeoutMs: 60_000, what: 'snapshotter' })
    const snapshot = (await snapshotter.snapshotNow()) ?? snapshotter.latest()
    await snapshotter.stop()
    // The history seq the snapshot holds: placements "since the snapshot" are counted from it.
    const seqAtSnapshot = room().lastSeq()
    // The snapshot's PNG as a first visit gets it, for the browser's floor (bench/helpers/page-floor.ts).
    const snapshotPng = new Uint8Array(await (await fetch(`http://127.0.0.1:${port}/api/boards/main/snapshot.png`)).arrayBuffer())
    const palette = room().config().palette
    const rgb = (c: number) => colorToRgb(palette[c] as string)

    type Cold = { firstPaint: number; exact: number; bytes: number; exactBoard: boolean; details: Record<string, unknown> }
    /** A first visit in a fresh profile; `paintAt` shows before the snapshot, `lastAt` is the newest placement. */
    const coldStart = async (context: BrowserContext, paintColor: number, lastColor: number): Promise<Cold & { page: Page }> => {
      const page = await context.newPage()
      const watch = await watchPage(page, [
        { x: 0, y: 0, rgb: rgb(paintColor) },
        { x: SIDE - 1, y: SIDE - 1, rgb: rgb(lastColor) },
      ])
      const bytes = countBytes(page)
      const start = Date.now()
      await page.goto(`http://127.0.0.1:${port}/?board=main`)
      const first = await firstBoardAt(watch, start, 0)
      const exact = await watch.tileAt(1, start)
      const firstPaint = first.firstPaint
      const expected = Array.from(room().bitmap())
      const got = await pageBitmap(page).catch(() => null)
      const exactBoard = got === null ? null : got.every((c, i) => c === expected[i])
      const b = await bytes()
      return {
        page,
        firstPaint,
        exact,
        bytes: b.total,
        exactBoard: exactBoard !== false,
        details: { ...b, ...first, sinceSnapshot: room().lastSeq() - seqAtSnapshot, marks: await marks(page) },
      }
    }

    /**
     * `visits` cold starts' figures (medians) and details, as the results keep them: every value,
     * and the details (resources, marks, sockets) of the last.
     */
    const coldResult = (colds: readonly Cold[]) => {
      const last = colds[colds.length - 1] as Cold
      return {
        firstPaint: median(colds.map((c) => c.firstPaint)),
        exact: median(colds.map((c) => c.exact)),
        bytes: median(colds.map((c) => c.bytes)),
        exactBoard: colds.every((c) => c.exactBoard),
        values: { firstPaint: colds.map((c) => c.firstPaint), exact: colds.map((c) => c.exact), bytes: colds.map((c) => c.bytes) },
        ...last.details,
      }
    }
    /** `visits` cold starts, each in a fresh profile (browser context). */
    const coldStarts = async (paintColor: number, lastColor: number) => {
      const colds: Cold[] = []
      for (let i = 0; i < visits; i++) {
        const context = await browser.newContext({ viewport: BENCH_VIEWPORT })
        colds.push(await coldStart(context, paintColor, lastColor))
        await context.close()
      }
      return coldResult(colds)
    }
    /** A fresh profile that has visited the board once: the board stored, the service worker controlling. */
    const visitedProfile = async () => {
      const context = await browser.newContext({ viewport: BENCH_VIEWPORT })
      const page = await context.newPage()
      await page.goto(`http://127.0.0.1:${port}/?board=main`)
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => true))
      // The board kept (IndexedDB), then its image (Cache Storage, client/sync/kept-image.ts),
      // written just after each save: a profile closed between the two has no image to show first.
      const kept = () =>
        page.evaluate((keys) => keys.map((k) => localStorage.getItem(k)), [`${KEPT_KEY_PREFIX}main`, `${KEPT_IMAGE_KEY_PREFIX}main`])
      await waitFor(async () => (await kept()).every((v) => v !== null), { timeoutMs: 30_000, what: 'the board and its image kept' })
      await page.close()
      return context
    }
    /** Frames and heap of the client the relay serves, on a page of its own in a new profile, once it shows the newest placement. */
    const framesOnPageOfItsOwn = async (name: 'before' | 'after') => {
      const context = await browser.newContext({ viewport: BENCH_VIEWPORT })
      const page = await context.newPage()
      const watch = await watchPage(page, [{ x: SIDE - 1, y: SIDE - 1, rgb: rgb(lastColor) }])
      const start = Date.now()
      await page.goto(`http://127.0.0.1:${port}/?board=main`)
      await watch.tileAt(0, start)
      await measureFrames(name, context, page)
      await context.close()
    }
    const rows: Row[] = []
    await placeMany(room(), next, sinceSmall - 1)
    let lastColor = await mark(SIDE - 1, SIDE - 1)

    const results: Record<string, Record<string, number | string | boolean | null | Record<string, unknown>>> = {}
    /** Frames while placements arrive at 1,000/s and the view pans, then the heap; closes the page. */
    const measureFrames = async (name: string, context: BrowserContext, page: Page) => {
      let placing = true
      const placer = (async () => {
        const nextLive = realistic(prng(9))
        while (placing) {
          const t = Date.now()
          await Promise.all(
            Array.from({ length: 50 }, (_, i) => room().place(nextLive(), { user: `live${i}`, ip: '127.0.0.1', isAdmin: false })),
          )
          await new Promise((res) => setTimeout(res, Math.max(0, 50 - (Date.now() - t))))
        }
      })()
      const frames = await framesWhilePanning(page, o.quick ? 2000 : 5000)
      placing = false
      await placer
      results[`${name}-frames`] = frames
      results[`${name}-heap`] = { bytes: await heapBytes(context, page) }
      await page.close()
    }
    // The full-sync client's frames come after this client's cold starts (below): the placements
    // they make would otherwise be 5,000 more "since the snapshot" for this client's (before
    // 2026-12-03 22:20 they were: its 10,000 were 15,000).
    r = await startRelay(oldDir.dir, port)
    results['before-cold-small'] = await coldStarts(paintColor, lastColor)
    r = await startRelay(newDir.dir, port)
    results['after-cold-small'] = await coldStarts(paintColor, lastColor)
    // Return visits: `visits` rounds, each in a profile of its own that visited the board once, then
    // 1,000 placements later: online with the service worker running (the first visit's page just
    // closed), online with it stopped (as a day later: the browser stops an idle worker within a
    // minute), offline. One profile at a time, each round as the browser's floor takes its own
    // (page-floor.ts), so that rounds are alike: none starts from a profile that was offline.
    const visited = { online: [], stopped: [], offline: [] } as Record<
      ReturnVisit,
      { firstPaint: number; exact: number | null; previewUrl: string | null; details: Record<string, unknown> }[]
    >
    for (let round = 0; round < visits; round++) {
      const context = await visitedProfile()
      await placeMany(room(), next, 999)
      lastColor = await mark(SIDE - 1, SIDE - 1)
      for (const kind of RETURN_VISITS) {
        const offline = kind === 'offline'
        if (offline) await context.setOffline(true)
        if (kind === 'stopped') await stopServiceWorkers(context)
        const page = await context.newPage()
        const watch = await watchPage(page, [
          { x: 0, y: 0, rgb: rgb(paintColor) },
          { x: SIDE - 1, y: SIDE - 1, rgb: rgb(lastColor) },
        ])
        const start = Date.now()
        await page.goto(`http://127.0.0.1:${port}/?board=main`)
        const first = await firstBoardAt(watch, start, 0)
        const exact = offline ? null : await watch.tileAt(1, start)
        visited[kind].push({
          firstPaint: first.firstPaint,
          exact,
          previewUrl: first.previewUrl,
          details: { ...first, marks: await marks(page) },
        })
        await page.close()
      }
      await context.close()
    }
    // Each kind's medians and every value, with the details (resources, marks) of its last visit.
    for (const kind of RETURN_VISITS) {
      const all = visited[kind]
      const exact = kind === 'offline' ? null : all.map((v) => v.exact ?? Number.NaN)
      results[`after-return-${kind}`] = {
        ...all[all.length - 1]?.details,
        firstPaint: median(all.map((v) => v.firstPaint)),
        ...(exact === null ? {} : { exact: median(exact) }),
        values: {
          firstPaint: all.map((v) => v.firstPaint),
          ...(exact === null ? {} : { exact }),
          // Which image each showed first (the kept image, or none: the canvas came first).
          previewUrl: all.map((v) => v.previewUrl),
        },
      }
    }
    // This client's frames and heap.
    await framesOnPageOfItsOwn('after')

    // The full-sync client's frames and heap (its cold starts above came first).
    r = await startRelay(oldDir.dir, port)
    await framesOnPageOfItsOwn('before')

    // 100,000 placements since the snapshot (counted: the frames above placed some): both clients again, cold.
    await placeMany(room(), next, sinceLarge - 1 - (room().lastSeq() - seqAtSnapshot))
    lastColor = await mark(SIDE - 1, SIDE - 1)
    for (const [name, dir] of [
      ['before', oldDir.dir],
      ['after', newDir.dir],
    ] as const) {
      r = await startRelay(dir, port)
      results[`${name}-cold-large`] = await coldStarts(paintColor, lastColor)
    }

    const floor = await measurePageFloor(browser, snapshotPng, o.quick ? 3 : 7)
    const n = (k: string, f: string) => Number(results[k]?.[f] ?? Number.NaN)
    const small = sinceSmall.toLocaleString('en-US')
    const large = sinceLarge.toLocaleString('en-US')
    const facts = { snapshotPngBytes: snapshot?.pngBytes, before }
    for (const who of ['before', 'after'] as const) {
      const label = who === 'before' ? `full-sync client (${OLD_CLIENT_REF})` : 'client'
      const mine = who === 'after'
      rows.push(
        {
          key: `client-${who}-cold-paint-small`,
          figure: `${label}: first visit, first board on screen, ${small} since the snapshot`,
          value: n(`${who}-cold-small`, 'firstPaint'),
          unit: 'ms',
          details: { ...results[`${who}-cold-small`], ...facts },
          ...(mine ? { target: { op: '<=', value: 200 } as const } : {}),
        },
        {
          key: `client-${who}-cold-exact-small`,
          figure: `${label}: first visit, exact board, ${small} since the snapshot${results[`${who}-cold-small`]?.exactBoard ? '' : ' (NOT exact)'}`,
          value: n(`${who}-cold-small`, 'exact'),
          unit: 'ms',
          ...(mine ? { target: { op: '<=', value: 400 } as const } : {}),
        },
        {
          key: `client-${who}-cold-bytes-small`,
          figure: `${label}: first visit, bytes received, ${small} since the snapshot`,
          value: n(`${who}-cold-small`, 'bytes') / 1000,
          unit: 'KB',
          digits: 1,
          ...(mine ? { target: { op: '<=', value: 150 } as const } : {}),
        },
        {
          key: `client-${who}-cold-paint-large`,
          figure: `${label}: first visit, first board on screen, ${large} since the snapshot`,
          value: n(`${who}-cold-large`, 'firstPaint'),
          unit: 'ms',
          details: results[`${who}-cold-large`],
        },
        {
          key: `client-${who}-cold-exact-large`,
          figure: `${label}: first visit, exact board, ${large} since the snapshot${results[`${who}-cold-large`]?.exactBoard ? '' : ' (NOT exact)'}`,
          value: n(`${who}-cold-large`, 'exact'),
          unit: 'ms',
        },
        {
          key: `client-${who}-cold-bytes-large`,
          figure: `${label}: first visit, bytes received, ${large} since the snapshot`,
          value: n(`${who}-cold-large`, 'bytes') / 1000,
          unit: 'KB',
          digits: 1,
        },
        {
          key: `client-${who}-fps`,
          figure: `${label}: frames per second, panning while 1,000 placements/s arrive`,
          value: n(`${who}-frames`, 'fps'),
          unit: 'fps',
          digits: 1,
          details: results[`${who}-frames`],
          ...(mine ? { target: { op: '>=', value: 55 } as const } : {}),
        },
        {
          key: `client-${who}-frame-p95`,
          figure: `${label}: p95 frame time, panning while 1,000 placements/s arrive`,
          value: n(`${who}-frames`, 'p95'),
          unit: 'ms',
          digits: 1,
          ...(mine ? { target: { op: '<=', value: 18 } as const } : {}),
        },
        {
          key: `client-${who}-heap`,
          figure: `${label}: JS heap with the 1000x1000 board open`,
          value: n(`${who}-heap`, 'bytes') / 2 ** 20,
          unit: 'MiB',
          digits: 1,
        },
      )
    }
    rows.push(
      {
        key: 'client-after-return-online',
        figure: `client: return visit online, first board on screen (1,000 behind)`,
        value: n('after-return-online', 'firstPaint'),
        unit: 'ms',
        details: results['after-return-online'],
        target: { op: '<=', value: 100 },
      },
      {
        key: 'client-after-return-online-exact',
        figure: `client: return visit online, exact board (1,000 behind)`,
        value: n('after-return-online', 'exact'),
        unit: 'ms',
      },
      {
        key: 'client-after-return-stopped',
        figure: 'client: return visit online, service worker stopped, first board on screen',
        value: n('after-return-stopped', 'firstPaint'),
        unit: 'ms',
        details: results['after-return-stopped'],
        target: { op: '<=', value: 100 },
      },
      {
        key: 'client-after-return-offline',
        figure: 'client: return visit offline, first board on screen',
        value: n('after-return-offline', 'firstPaint'),
        unit: 'ms',
        details: results['after-return-offline'],
        target: { op: '<=', value: 100 },
      },
      {
        key: 'client-floor-first',
        figure: `browser floor: a static page of only the snapshot PNG, first visit (median of ${floor.firstVisits.length})`,
        value: floor.firstVisit,
        unit: 'ms',
        details: { values: floor.firstVisits, pngBytes: snapshotPng.length },
      },
      {
        key: 'client-floor-return',
        figure: `browser floor: the same page again, its PNG from the HTTP cache (median of ${floor.returnVisits.length})`,
        value: floor.returnVisit,
        unit: 'ms',
        details: { values: floor.returnVisits },
      },
      ...RETURN_VISITS.map((kind) => ({
        key: `client-floor-worker-${kind}`,
        figure: `browser floor: the same page controlled by a service worker with the client's routes and page headers, return visit ${WORKER_VISIT_LABEL[kind]}, its PNG from Cache Storage (median of ${floor.worker[kind].values.length})`,
        value: floor.worker[kind].median,
        unit: 'ms',
        details: { values: floor.worker[kind].values },
      })),
    )
    return rows
  } finally {
    await running.relay?.close()
    await browser.close()
    for (const d of dirs) d.remove()
  }
}
