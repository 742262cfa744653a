/**
 * The board on screen before the app's script has run (client/ui/board-preview.ts), in real
 * Chromium against a real relay and snapshot:
 *
 * - a first visit shows the latest snapshot's PNG while the script is held back (no canvas, no
 *   app yet), with the snapshot's pixels on screen where the app's fitted view puts the board;
 *   then the app's canvas takes its place exactly (same rectangle), and the preview is gone;
 * - a first visit's canvas is first painted with the snapshot, never with a blank board;
 * - a deep link (#x=&y=&zoom=) shows the linked tile at the stage's centre in the preview too,
 *   and the canvas lands on the same rectangle;
 * - a return visit offline, with the script unavailable, shows the image of the last board the
 *   page kept (Cache Storage, through the service worker), pixel for pixel;
 * - a return visit takes the service worker's static routes (client/sw-routes.ts), online and offline.
 *
 * What is on screen is read from screenshots (pixels at tile centres), not from the DOM alone.
 */
import type { Page, Route } from 'playwright-core'
import { PNG } from 'pngjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canvasTransform, fitViewport } from '../../client/render/viewport.ts'
import type { Room } from '../../relay/room.ts'
import { colorToRgb } from '../../shared/palette.ts'
import { startOnDemandSnapshotter } from '../helpers/on-demand-snapshotter.ts'
import { type PageRig, startPageRig } from '../helpers/page-rig.ts'
import { prng } from '../helpers/prng.ts'
import type { TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const W = 96
const H = 64
const VIEWPORT = { width: 1280, height: 800 }

let rig: PageRig
let relay: TestRelay
const room = (): Room => relay.rooms.get('main') as Room
/** The board as the snapshot holds it, and the seq it holds (placements follow it). */
let snapshotBits: Uint8Array
let snapshotSeq: number

/** Places `n` random tiles through the room. */
const placeRandom = async (rand: () => number, n: number) => {
  const { palette } = room().config()
  for (let i = 0; i < n; i++) {
    const r = await room().place(
      { x: Math.floor(rand() * W), y: Math.floor(rand() * H), color: Math.floor(rand() * palette.length) },
      { user: `u${i % 20}`, ip: '127.0.0.1', isAdmin: false },
    )
    if (!r.ok) throw new Error(`placement refused: ${r.error}`)
  }
}

beforeAll(async () => {
  rig = await startPageRig({ name: 'preview', relay: { env: { BOARD_COOLDOWN_MS: '0', BOARD_WIDTH: String(W), BOARD_HEIGHT: String(H) } } })
  relay = rig.relay
  await placeRandom(prng(7), 3000)
  const snapshotter = await startOnDemandSnapshotter({ dataDir: relay.dataDir, wsBase: relay.wsBase })
  await waitFor(() => snapshotter.synced(), { what: 'the snapshotter caught up' })
  const taken = (await snapshotter.snapshotNow()) ?? snapshotter.latest()
  await snapshotter.stop()
  expect(taken).toBeTruthy()
  snapshotBits = room().bitmap().slice()
  const info = (await (await fetch(`${relay.url}/api/boards/main`)).json()) as { snapshot: { seq: number | null } }
  expect(info.snapshot.seq).toBe(room().lastSeq())
  snapshotSeq = info.snapshot.seq as number
  // Placements after the snapshot: the page catches up from its seq.
  await placeRandom(prng(8), 300)
}, 180_000)

afterAll(() => rig?.stop())

const newContext = () => rig.newContext({ viewport: VIEWPORT })

/** The app's script (/assets/main-*.js) held back until `release` is called. */
const holdScript = async (page: Page) => {
  let release = () => {}
  const released = new Promise<void>((r) => {
    release = r
  })
  await page.route(/\/assets\/main-[^/]*\.js$/, async (route: Route) => {
    await released
    await route.continue()
  })
  return release
}

/**
 * Waits for the preview to be shown where the stage's script places it exactly (not the
 * stylesheet's early fit, shown before the page is parsed: its box is the stage's 92%, not the
 * image's), and returns its rectangle (CSS px, viewport) and src.
 */
const previewShown = async (page: Page) => {
  await page.waitForFunction(() => {
    const img = document.getElementById('board-preview') as HTMLImageElement | null
    return !!img && !img.hidden && img.complete && img.naturalWidth > 0 && !img.classList.contains('board-preview-early')
  })
  return page.evaluate(() => {
    const img = document.getElementById('board-preview') as HTMLImageElement
    const r = img.getBoundingClientRect()
    return { left: r.left, top: r.top, width: r.width, height: r.height, src: new URL(img.src).pathname }
  })
}

const stageRect = (page: Page) =>
  page.evaluate(() => {
    const r = (document.getElementById('stage') as HTMLElement).getBoundingClientRect()
    return { left: r.left, top: r.top, width: r.width, height: r.height }
  })

/** Whether the app has run: its canvas or its debug hook. */
const appRan = (page: Page) => page.evaluate(() => !!document.querySelector('canvas.board') || '__tessera' in window)

/**
 * Tiles whose centres are on screen in `rect` (the board's rectangle) and inside `stage`: the
 * screenshot's pixel there is compared with the board's colour, for every tile in a grid.
 */
const mismatchesOnScreen = async (
  page: Page,
  rect: { left: number; top: number; width: number; height: number },
  stage: { left: number; top: number; width: number; height: number },
  bitmap: Uint8Array,
) => {
  // The page's own controls over the stage (pills, buttons, the spinner) hide what is under them.
  const covers = await page.evaluate(() =>
    [...document.querySelectorAll('#stage > .pill, #stage > .tool, #stage > .minimap, #stage > .loading, #stage > .fatal')]
      .filter((e) => e.getClientRects().length > 0)
      .map((e) => {
        const r = e.getBoundingClientRect()
        return { left: r.left, top: r.top, right: r.right, bottom: r.bottom }
      }),
  )
  const png = PNG.sync.read(await page.screenshot())
  const palette = room().config().palette
  const scale = rect.width / W
  let checked = 0
  const wrong: string[] = []
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const px = Math.floor(rect.left + (x + 0.5) * scale)
      const py = Math.floor(rect.top + (y + 0.5) * scale)
      if (px < stage.left || py < stage.top || px >= stage.left + stage.width || py >= stage.top + stage.height) continue
      if (covers.some((c) => px >= c.left - 1 && px <= c.right + 1 && py >= c.top - 1 && py <= c.bottom + 1)) continue
      const i = (py * png.width + px) * 4
      const want = colorToRgb(palette[bitmap[y * W + x] as number] as string)
      const got = [png.data[i], png.data[i + 1], png.data[i + 2]]
      checked++
      if (got[0] !== want[0] || got[1] !== want[1] || got[2] !== want[2]) wrong.push(`(${x},${y}) ${got} != ${want}`)
    }
  }
  return { checked, wrong }
}

describe('the board preview', () => {
  it('shows the latest snapshot before the script has run, fitted, then the canvas takes its exact place', async () => {
    const context = await newContext()
    const page = await context.newPage()
    const release = await holdScript(page)
    const sockets: string[] = []
    page.on('websocket', (ws) => sockets.push(new URL(ws.url()).search))
    await page.goto(`${relay.url}/?board=main`, { waitUntil: 'commit' })
    const shown = await previewShown(page)
    expect(await appRan(page)).toBe(false)
    expect(shown.src).toBe('/api/boards/main/snapshot.png')
    // Where the app's fitted view will put the board (client/render/viewport.ts).
    const stage = await stageRect(page)
    const t = canvasTransform(fitViewport({ width: W, height: H }, stage), stage, 1)
    expect(shown.left).toBeCloseTo(stage.left + t.tx, 3)
    expect(shown.top).toBeCloseTo(stage.top + t.ty, 3)
    expect(shown.width).toBeCloseTo(W * t.scale, 3)
    // Before the page was parsed it was fitted by the stylesheet alone (.board-preview-early,
    // object-fit): where the exact placement puts it, within half a pixel (a copy made to measure).
    const early = await page.evaluate(() => {
      const img = document.getElementById('board-preview') as HTMLImageElement
      const copy = img.cloneNode() as HTMLImageElement
      copy.removeAttribute('id')
      copy.removeAttribute('elementtiming')
      copy.style.transform = ''
      copy.classList.add('board-preview-early')
      img.after(copy)
      const box = copy.getBoundingClientRect()
      copy.remove()
      // object-fit: contain, centred in its box.
      const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight)
      const width = img.naturalWidth * scale
      const height = img.naturalHeight * scale
      return { left: box.left + (box.width - width) / 2, top: box.top + (box.height - height) / 2, width, height }
    })
    for (const k of ['left', 'top', 'width', 'height'] as const) expect(Math.abs(early[k] - shown[k]), k).toBeLessThanOrEqual(0.5)
    // On screen: every tile of the snapshot (no placement since it) at its place.
    const before = await mismatchesOnScreen(page, shown, stage, snapshotBits)
    expect(before.checked).toBeGreaterThan(W * H * 0.95)
    expect(before.wrong).toEqual([])

    release()
    await page.waitForSelector('body[data-connection="live"]')
    await page.waitForFunction(() => document.getElementById('board-preview') === null)
    const canvas = await page.evaluate(() => {
      const c = document.querySelector('canvas.board') as HTMLCanvasElement
      const r = c.getBoundingClientRect()
      return { left: r.left, top: r.top, width: r.width, height: r.height, visibility: getComputedStyle(c).visibility }
    })
    expect(canvas.visibility).toBe('visible')
    expect(canvas.left).toBeCloseTo(shown.left, 3)
    expect(canvas.top).toBeCloseTo(shown.top, 3)
    expect(canvas.width).toBeCloseTo(shown.width, 3)
    expect(canvas.height).toBeCloseTo(shown.height, 3)
    expect(await page.locator('img.board-preview').count()).toBe(0)
    const after = await mismatchesOnScreen(page, canvas, await stageRect(page), room().bitmap())
    expect(after.wrong).toEqual([])
    // The catch-up was asked for once, by the socket opened while the snapshot loaded
    // (client/sync/early-socket.ts), which the connection took over (not a second one).
    expect(sockets.filter((q) => new URLSearchParams(q).get('since') === String(snapshotSeq)).length).toBe(1)
  })

  it("paints a first visit's canvas first with the snapshot, never with a blank board", async () => {
    const context = await newContext()
    const page = await context.newPage()
    // Every paint of the board's canvas, as the count of its pixels that are not white (a blank
    // board is all colour 0, white): the app paints with putImageData (client/render/board-view.ts).
    await page.addInitScript(() => {
      const put = CanvasRenderingContext2D.prototype.putImageData
      const seen: number[] = []
      ;(window as unknown as { __boardPaints: number[] }).__boardPaints = seen
      CanvasRenderingContext2D.prototype.putImageData = function (this: CanvasRenderingContext2D, ...args: unknown[]) {
        const image = args[0] as ImageData
        if (this.canvas.classList.contains('board')) {
          let colored = 0
          for (let i = 0; i < image.data.length; i += 4) {
            if (image.data[i] !== 255 || image.data[i + 1] !== 255 || image.data[i + 2] !== 255) colored++
          }
          seen.push(colored)
        }
        return (put as (...a: unknown[]) => void).apply(this, args)
      } as typeof put
    })
    await page.goto(`${relay.url}/?board=main`)
    await page.waitForSelector('body[data-connection="live"]')
    const paints = await page.evaluate(() => (window as unknown as { __boardPaints: number[] }).__boardPaints)
    const white = room().config().palette.indexOf('#ffffff')
    const coloredInSnapshot = snapshotBits.filter((c) => c !== white).length
    expect(coloredInSnapshot).toBeGreaterThan(1000)
    expect(paints.length).toBeGreaterThan(0)
    // The first paint is the snapshot's board (and maybe some of the catch-up), not a blank one.
    expect(paints[0]).toBeGreaterThan(coloredInSnapshot * 0.9)
  })

  it('opens a deep link on the linked tile in the preview too, where the app then shows it', async () => {
    const context = await newContext()
    const page = await context.newPage()
    const release = await holdScript(page)
    await page.goto(`${relay.url}/?board=main#x=70&y=12&zoom=24`, { waitUntil: 'commit' })
    const shown = await previewShown(page)
    expect(await appRan(page)).toBe(false)
    const stage = await stageRect(page)
    expect(shown.width).toBeCloseTo(W * 24, 3)
    // Tile (70, 12)'s centre at the stage's centre, showing the snapshot's pixels.
    expect(shown.left + 70.5 * 24).toBeCloseTo(stage.left + stage.width / 2, 0)
    expect(shown.top + 12.5 * 24).toBeCloseTo(stage.top + stage.height / 2, 0)
    const seen = await mismatchesOnScreen(page, shown, stage, snapshotBits)
    expect(seen.checked).toBeGreaterThan(500)
    expect(seen.wrong).toEqual([])

    release()
    await page.waitForSelector('body[data-connection="live"]')
    await page.waitForFunction(() => document.getElementById('board-preview') === null)
    const canvas = await page.evaluate(() => {
      const r = (document.querySelector('canvas.board') as HTMLCanvasElement).getBoundingClientRect()
      return { left: r.left, top: r.top, width: r.width }
    })
    expect(canvas.left).toBeCloseTo(shown.left, 3)
    expect(canvas.top).toBeCloseTo(shown.top, 3)
    expect(canvas.width).toBeCloseTo(shown.width, 3)
  })

  it('shows the last board kept by the page on a return visit offline, without the script', async () => {
    const context = await newContext()
    const page = await context.newPage()
    await page.goto(`${relay.url}/?board=main`)
    await page.waitForSelector('body[data-connection="live"]')
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true))
    // Placements after the snapshot: the kept image must be the page's board, not the snapshot.
    await placeRandom(prng(11), 200)
    await page.waitForFunction(
      (n) => (window as unknown as { __tessera: { cursor: () => number | null } }).__tessera.cursor() === n,
      room().lastSeq(),
    )
    const expected = room().bitmap().slice()
    const palette = room().config().palette
    // Saves (IndexedDB and the image) happen while the board changes and when the page is hidden.
    await waitFor(
      async () => {
        await page.evaluate(() => window.dispatchEvent(new Event('pagehide')))
        // The kept image decoded in the page, compared with the board.
        return page.evaluate(
          async ([bits, pal, w, h]) => {
            if (localStorage.getItem('tessera.kept-image.main') !== `${w}x${h}`) return false
            const res = await (await caches.open('tessera-kept')).match('/kept/main.png')
            if (!res) return false
            const bmp = await createImageBitmap(await res.blob())
            const c = new OffscreenCanvas(w as number, h as number)
            const ctx = c.getContext('2d') as OffscreenCanvasRenderingContext2D
            ctx.drawImage(bmp, 0, 0)
            const d = ctx.getImageData(0, 0, w as number, h as number).data
            const rgb = (pal as string[]).map((hex) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)))
            return (bits as number[]).every((c, i) => {
              const [r, g, b] = rgb[c] as number[]
              return d[i * 4] === r && d[i * 4 + 1] === g && d[i * 4 + 2] === b
            })
          },
          [Array.from(expected), palette, W, H] as const,
        )
      },
      { what: 'the kept image equal to the board', timeoutMs: 20_000 },
    )
    // The page told the relay that it keeps the image: the relay's answer to its next page load
    // names the image, to be fetched with the page (through the service worker, from its cache).
    expect(await page.evaluate(() => document.cookie.split('; '))).toContain('tessera_kept_image_main=1')
    const cookie = (await context.cookies(relay.url)).map((c) => `${c.name}=${c.value}`).join('; ')
    const link = (await fetch(`${relay.url}/?board=main`, { headers: { cookie } })).headers.get('link')
    expect(link).toContain('</kept/main.png>; rel=preload; as=image')
    // The app's script made empty in the service worker's precache (where a return visit's
    // comes from), and the network off: nothing but the HTML can show a board.
    const emptied = await page.evaluate(async () => {
      let n = 0
      for (const name of await caches.keys()) {
        const cache = await caches.open(name)
        for (const req of await cache.keys())
          if (/\/assets\/main-[^/]*\.js/.test(req.url)) {
            await cache.put(req, new Response('', { headers: { 'content-type': 'text/javascript' } }))
            n++
          }
      }
      return n
    })
    expect(emptied).toBe(1)
    await context.setOffline(true)
    await page.close()
    const back = await context.newPage()
    await back.goto(`${relay.url}/?board=main`, { waitUntil: 'commit' })
    const shown = await previewShown(back)
    expect(shown.src).toBe('/kept/main.png')
    expect(await appRan(back)).toBe(false)
    const seen = await mismatchesOnScreen(back, shown, await stageRect(back), expected)
    expect(seen.checked).toBeGreaterThan(W * H * 0.95)
    expect(seen.wrong).toEqual([])
    await context.setOffline(false)
  })

  it("takes the service worker's static routes on a return visit: the page raced against the network, files straight from the caches", async () => {
    const context = await newContext()
    const first = await context.newPage()
    await first.goto(`${relay.url}/?board=main`)
    await first.waitForSelector('body[data-connection="live"]')
    await first.evaluate(() => navigator.serviceWorker.ready.then(() => true))
    await waitFor(
      async () => {
        await first.evaluate(() => window.dispatchEvent(new Event('pagehide')))
        return first.evaluate((size) => localStorage.getItem('tessera.kept-image.main') === size, `${W}x${H}`)
      },
      { what: 'the board image kept' },
    )
    /** How each request of a page was routed (Resource Timing's static routing fields): path -> [matched, final]. */
    const routes = (page: Page) =>
      page.evaluate(() => {
        type Routed = PerformanceResourceTiming & { workerMatchedSourceType?: string; workerFinalSourceType?: string }
        const out: Record<string, [string, string]> = {}
        for (const e of [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')] as Routed[]) {
          const u = new URL(e.name)
          const key = e.entryType === 'navigation' ? 'page' : u.pathname.replace(/-[\w-]{8}\.(js|css)$/, '.$1')
          out[key] = [e.workerMatchedSourceType ?? '', e.workerFinalSourceType ?? '']
        }
        return out
      })
    const back = await context.newPage()
    await back.goto(`${relay.url}/?board=main`)
    await back.waitForSelector('body[data-connection="live"]')
    await waitFor(async () => (await routes(back))['/kept/main.png'] !== undefined, { what: 'the kept image asked for' })
    const online = await routes(back)
    // Online, whichever answers first: the relay, or the worker (its precached page).
    expect(online.page?.[0]).toBe('race-network-and-fetch-handler')
    expect(['network', 'fetch-event']).toContain(online.page?.[1])
    expect(online['/kept/main.png']).toEqual(['cache', 'cache'])
    expect(online['/assets/main.js']).toEqual(['cache', 'cache'])
    expect(online['/assets/main.css']).toEqual(['cache', 'cache'])
    expect(online['/api/boards/main']?.[0]).toBe('network')
    await context.setOffline(true)
    const offline = await context.newPage()
    await offline.goto(`${relay.url}/?board=main`)
    await waitFor(async () => (await routes(offline))['/assets/main.js'] !== undefined, { what: 'the script asked for offline' })
    // Offline, the network loses at once and the precached page answers.
    expect((await routes(offline)).page).toEqual(['race-network-and-fetch-handler', 'fetch-event'])
    await context.setOffline(false)
  })
})
