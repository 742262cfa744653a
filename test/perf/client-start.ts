/**
 * Time to first paint and to the exact board, today's client against the one before it (the
 * y-websocket provider and a Y.Doc, commit 4d42b84), in headless Chromium: a 1000x1000 board
 * with BEFORE placements, a snapshot, then SINCE placements after it. One run each (a shared
 * 2-core machine: read the figures as orders of magnitude).
 *
 *   npx tsx test/perf/client-start.ts [--before 200000] [--since 10000] [--old-ref 4d42b84]
 *
 * First paint: the first moment tile (500, 500), painted before the snapshot, shows its colour
 * on the page's canvas. Exact: tile (501, 501), the last placement after the snapshot, shows,
 * and then the page's bitmap equals the relay's. Times from page.goto on a fresh context.
 */
import { execSync } from 'node:child_process'
import { mkdirSync, symlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { build } from 'vite'
import WebSocket from 'ws'
import { createLog } from '../../relay/log.ts'
import type { Room } from '../../relay/room.ts'
import { colorToRgb } from '../../shared/palette.ts'
import { parseSnapshotterConfig } from '../../snapshotter/config.ts'
import { startBoardSnapshotter } from '../../snapshotter/snapshotter.ts'
import { buildClient, launchChromium } from '../helpers/browser.ts'
import { prng } from '../helpers/prng.ts'
import { startTestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] as string) : fallback
}
const BEFORE = Number(arg('before', '200000'))
const SINCE = Number(arg('since', '10000'))
const OLD_REF = arg('old-ref', '4d42b84')
const root = resolve(import.meta.dirname, '../..')

const place = async (room: Room, rand: () => number, n: number) => {
  const batch: Promise<unknown>[] = []
  for (let i = 0; i < n; i++) {
    const intent = { x: Math.floor(rand() * 1000), y: Math.floor(rand() * 1000), color: 1 + Math.floor(rand() * 15) }
    batch.push(room.place(intent, { user: `u${i % 500}`, ip: '127.0.0.1', isAdmin: false }))
    if (batch.length >= 1000) await Promise.all(batch.splice(0))
  }
  await Promise.all(batch)
}
const mark = (room: Room, x: number, y: number, color: number) =>
  room.place({ x, y, color }, { user: 'marker', ip: '127.0.0.1', isAdmin: false })

/** Resolves when tile (x, y) of the page's canvas shows `rgb`; polls every 5 ms. */
const tileShows = (page: Page, x: number, y: number, rgb: [number, number, number]) =>
  page.waitForFunction(
    ([tx, ty, r, g, b]) => {
      const canvas = document.querySelector<HTMLCanvasElement>('canvas.board')
      if (!canvas || canvas.width < 1000) return false
      const d = canvas.getContext('2d')?.getImageData(tx as number, ty as number, 1, 1).data
      return !!d && d[0] === r && d[1] === g && d[2] === b
    },
    [x, y, ...rgb] as const,
    { polling: 5, timeout: 120_000 },
  )

const main = async () => {
  const newDir = makeTmpDir('tessera-perf-new-')
  const oldSrc = makeTmpDir('tessera-perf-oldsrc-')
  const oldDir = makeTmpDir('tessera-perf-old-')
  // The old client: its sources at OLD_REF, built with its own vite config.
  execSync(`git archive ${OLD_REF} client shared vite.config.ts package.json tsconfig.base.json | tar -x -C ${oldSrc.dir}`, { cwd: root })
  symlinkSync(join(root, 'node_modules'), join(oldSrc.dir, 'node_modules'))
  mkdirSync(oldDir.dir, { recursive: true })
  await Promise.all([
    buildClient(newDir.dir),
    build({
      configFile: join(oldSrc.dir, 'vite.config.ts'),
      mode: 'production',
      logLevel: 'warn',
      build: { outDir: oldDir.dir, emptyOutDir: true },
    }),
  ])

  const data = makeTmpDir('tessera-perf-data-')
  const env = { BOARD_WIDTH: '1000', BOARD_HEIGHT: '1000', BOARD_COOLDOWN_MS: '0' }
  let relay = await startTestRelay({ dataDir: data.dir, env })
  const port = relay.port
  const rand = prng(1)
  const room = () => relay.rooms.get('main') as Room
  let t = Date.now()
  await place(room(), rand, BEFORE)
  await mark(room(), 500, 500, 5)
  console.log(`${BEFORE} placements in ${Date.now() - t} ms`)
  const config = parseSnapshotterConfig({
    DATA_DIR: data.dir,
    SNAPSHOT_RELAY: relay.wsBase,
    SNAPSHOT_EVERY_PLACEMENTS: '100000000',
    SNAPSHOT_EVERY_SECONDS: '604800',
    SNAPSHOT_MIN_INTERVAL_MS: '0',
  })
  const snapshotter = await startBoardSnapshotter({ config, board: 'main', WebSocket, log: createLog('')('snap') })
  await waitFor(() => snapshotter.synced(), { timeoutMs: 60_000, what: 'snapshotter' })
  const snap = (await snapshotter.snapshotNow()) ?? snapshotter.latest()
  await snapshotter.stop()
  console.log(`snapshot ${snap?.version}: ${snap?.pngBytes} bytes PNG`)
  t = Date.now()
  await place(room(), rand, SINCE - 1)
  await mark(room(), 501, 501, 7)
  console.log(`${SINCE} placements since the snapshot in ${Date.now() - t} ms`)
  const palette = room().config().palette
  const expected = Buffer.from(room().bitmap())

  const browser = await launchChromium()
  const rows: string[] = []
  for (const [name, dir] of [
    ['before (y-websocket + Y.Doc)', oldDir.dir],
    ['after (snapshot + own socket)', newDir.dir],
  ] as const) {
    await relay.close()
    relay = await startTestRelay({ dataDir: data.dir, env: { ...env, PORT: String(port), STATIC_DIR: dir } })
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    let wsBytes = 0
    page.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => (wsBytes += payload.length)))
    const start = Date.now()
    await page.goto(`http://127.0.0.1:${port}/?board=main`)
    await tileShows(page, 500, 500, colorToRgb(palette[5] as string))
    const firstPaint = Date.now() - start
    await tileShows(page, 501, 501, colorToRgb(palette[7] as string))
    const exactAt = Date.now() - start
    if (process.env.PERF_DETAIL) {
      const entries = await page.evaluate(() =>
        [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].map(
          (e) => `${e.name.replace(/^https?:\/\/[^/]+/, '')} ${Math.round(e.startTime)}..${Math.round(e.startTime + e.duration)}`,
        ),
      )
      console.log(name, entries.join('\n  '))
    }
    const bitmap = await page.evaluate(() =>
      Array.from((window as unknown as { __tessera: { bitmap: () => Uint8Array } }).__tessera.bitmap()),
    )
    const exact = Buffer.compare(Buffer.from(bitmap), expected) === 0
    const decode = await page.evaluate(() => performance.getEntriesByName('tessera:snapshot-decode')[0]?.duration)
    rows.push(`| ${name} | ${firstPaint} | ${exactAt} | ${exact ? 'yes' : 'NO'} | ${wsBytes} |`)
    if (decode !== undefined) console.log(`${name}: snapshot PNG decoded to indices in ${Math.round(decode)} ms`)
    if (dir === newDir.dir) {
      // A return visit: the board kept in IndexedDB, then SINCE more placements to catch up on.
      await page.waitForFunction(
        () =>
          new Promise((resolve) => {
            const open = indexedDB.open('tessera')
            open.onsuccess = () => {
              const get = open.result.transaction('boards').objectStore('boards').get('main')
              get.onsuccess = () => resolve(get.result !== undefined)
              get.onerror = () => resolve(false)
            }
            open.onerror = () => resolve(false)
          }),
        undefined,
        { polling: 200, timeout: 30_000 },
      )
      await page.close()
      await place(room(), rand, SINCE - 1)
      await mark(room(), 502, 502, 9)
      const back = await context.newPage()
      wsBytes = 0
      back.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => (wsBytes += payload.length)))
      const again = Date.now()
      await back.goto(`http://127.0.0.1:${port}/?board=main`)
      await tileShows(back, 500, 500, colorToRgb(palette[5] as string))
      const storedPaint = Date.now() - again
      await tileShows(back, 502, 502, colorToRgb(palette[9] as string))
      const caughtUp = Date.now() - again
      const now = await back.evaluate(() =>
        Array.from((window as unknown as { __tessera: { bitmap: () => Uint8Array } }).__tessera.bitmap()),
      )
      const same = Buffer.compare(Buffer.from(now), Buffer.from(room().bitmap())) === 0
      rows.push(
        `| after, return visit (IndexedDB, then ${SINCE} behind) | ${storedPaint} | ${caughtUp} | ${same ? 'yes' : 'NO'} | ${wsBytes} |`,
      )
    }
    await context.close()
  }
  await browser.close()
  await relay.close()
  console.log(`\n1000x1000, ${BEFORE} placements before the snapshot, ${SINCE} after (one run each)\n`)
  console.log('| client | first paint (ms) | exact board (ms) | exact | WebSocket bytes received |')
  console.log('|---|---:|---:|---|---:|')
  for (const r of rows) console.log(r)
  for (const d of [newDir, oldSrc, oldDir, data]) d.remove()
}

await main()
