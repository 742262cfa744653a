/**
 * What the client bench (bench/client-start.ts) reads off a page in headless Chromium: when a
 * tile shows on the canvas, when the HTML's preview image was rendered (Element Timing), the
 * first board on screen (the earlier of the two), the page's bitmap, its own performance marks,
 * the bytes it received, its JS heap, and its frame times while the view is dragged.
 */
import type { BrowserContext, Page } from 'playwright-core'

/** Resolves with ms since `start` when tile (x, y) of the page's canvas shows `rgb` (polled every 5 ms). */
export const tileShowsAt = async (page: Page, start: number, x: number, y: number, rgb: [number, number, number]) => {
  await page.waitForFunction(
    ([tx, ty, r, g, b]) => {
      const canvas = document.querySelector<HTMLCanvasElement>('canvas.board')
      if (!canvas || canvas.width < tx || canvas.height < ty) return false
      // A canvas held hidden under the HTML's preview is not on screen.
      if (getComputedStyle(canvas).visibility !== 'visible') return false
      const d = canvas.getContext('2d')?.getImageData(tx as number, ty as number, 1, 1).data
      return !!d && d[0] === r && d[1] === g && d[2] === b
    },
    [x, y, ...rgb] as const,
    { polling: 5, timeout: 120_000 },
  )
  return Date.now() - start
}

/**
 * Ms since `start` (Node's clock, taken before page.goto) at which the HTML's preview image was
 * first rendered, from its Element Timing entry (renderTime, on the page's clock: timeOrigin is
 * the same wall clock), or null when the page showed none within `waitMs` (the old client, a
 * board kept without its image).
 */
export const previewShownAt = async (page: Page, start: number, waitMs: number): Promise<{ at: number; url: string } | null> => {
  // A string, not a function: tsx compiles functions with a helper (__name) the page lacks.
  const found = (await page.evaluate(`new Promise((resolve) => {
    setTimeout(() => resolve(null), ${waitMs})
    new PerformanceObserver((list) => {
      const e = list.getEntries().find((x) => x.identifier === 'board-preview')
      if (e) resolve({ at: performance.timeOrigin + (e.renderTime || e.loadTime), url: e.url })
    }).observe({ type: 'element', buffered: true })
  })`)) as { at: number; url: string } | null
  return found ? { at: Math.round(found.at - start), url: new URL(found.url).pathname } : null
}

/**
 * The first board on screen: the earlier of the preview image and the canvas (ms since start).
 * Both are watched at once from navigation (the Element Timing lookup waits up to 5 s for a
 * preview that may never come, the old client's); `canvas` resolves as soon as the canvas shows
 * the tile, so that the caller can go on (to the exact board) before `settled` does.
 */
export const firstBoardAt = (page: Page, start: number, x: number, y: number, rgb: [number, number, number]) => {
  const preview = previewShownAt(page, start, 5000)
  const canvas = tileShowsAt(page, start, x, y, rgb)
  const settled = async () => {
    const canvasAt = await canvas
    const p = await preview
    return { firstPaint: p ? Math.min(p.at, canvasAt) : canvasAt, canvasAt, previewAt: p?.at ?? null, previewUrl: p?.url ?? null }
  }
  return { canvas, settled }
}

export const pageBitmap = (page: Page) =>
  page.evaluate(() => Array.from((window as unknown as { __tessera: { bitmap: () => Uint8Array } }).__tessera.bitmap()))

/** The page's own marks, and where the time went (ms from navigation start): for the details. */
export const marks = (page: Page): Promise<Record<string, unknown>> =>
  page.evaluate(`(() => {
    const round = (n) => (n === undefined || n === null ? null : Math.round(n))
    const nav = performance.getEntriesByType('navigation')[0]
    const resources = performance.getEntriesByType('resource')
    const span = (test) => {
      const r = resources.find((e) => test(new URL(e.name).pathname))
      return r ? [round(r.startTime), round(r.responseEnd)] : null
    }
    return {
      firstPaint: round(performance.getEntriesByName('tessera:first-paint')[0]?.startTime),
      live: round(performance.getEntriesByName('tessera:live')[0]?.startTime),
      start: round(performance.getEntriesByName('tessera:start')[0]?.startTime),
      storeLoaded: round(performance.getEntriesByName('tessera:store-loaded')[0]?.startTime),
      boardInfoRequests: resources.filter((e) => new URL(e.name).pathname.startsWith('/api/boards/')).length,
      decode: round(performance.getEntriesByName('tessera:snapshot-decode')[0]?.duration),
      html: nav ? [round(nav.requestStart), round(nav.responseEnd)] : null,
      domInteractive: nav ? round(nav.domInteractive) : null,
      script: span((p) => p.endsWith('.js') && p.startsWith('/assets/')),
      boardInfo: span((p) => p.startsWith('/api/boards/') && p.split('/').length === 4),
      png: span((p) => p.endsWith('.png')),
      css: span((p) => p.endsWith('.css')),
    }
  })()`)

/** Bytes the page received: HTTP as transferred (compressed, with headers), WebSocket frames. */
export const countBytes = (page: Page) => {
  let ws = 0
  // Per socket (its query and the bytes of its frames), for where the bytes go.
  const sockets: { query: string; bytes: number; frames: number }[] = []
  page.on('websocket', (s) => {
    const mine = { query: new URL(s.url()).search, bytes: 0, frames: 0 }
    sockets.push(mine)
    s.on('framereceived', ({ payload }) => {
      ws += payload.length
      mine.bytes += payload.length
      mine.frames += 1
    })
  })
  return async () => {
    const entries = await page.evaluate(() =>
      [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].map(
        (e) => [new URL(e.name).pathname, (e as PerformanceResourceTiming).transferSize || 0] as const,
      ),
    )
    const http = entries.reduce((n, [, size]) => n + size, 0)
    // Each answer's bytes as transferred (body and headers), for where the bytes go.
    return { http, ws, total: http + ws, answers: entries.map(([path, size]) => `${path} ${size}`), sockets }
  }
}

export const heapBytes = async (context: BrowserContext, page: Page) => {
  const cdp = await context.newCDPSession(page)
  await cdp.send('HeapProfiler.collectGarbage')
  const { usedSize } = await cdp.send('Runtime.getHeapUsage')
  await cdp.detach()
  return usedSize
}

/** Frame times (ms) over `ms` while the view is dragged across the stage and `during` runs. */
export const framesWhilePanning = async (page: Page, ms: number) => {
  // A string, not a function: tsx compiles functions with a helper (__name) the page lacks.
  await page.evaluate(`(() => {
    window.__frames = []
    let last = performance.now()
    const tick = (t) => {
      window.__frames.push(t - last)
      last = t
      requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  })()`)
  const box = await page.locator('#stage').boundingBox()
  if (!box) throw new Error('no stage')
  const cx = box.x + box.width / 2
  const cy = box.y + box.height / 2
  await page.mouse.move(cx, cy)
  await page.mouse.down()
  const until = Date.now() + ms
  // Back and forth, 4 px every 16 ms: a slow, continuous drag.
  for (let i = 0; Date.now() < until; i++) {
    const phase = i % 100
    await page.mouse.move(cx + (phase < 50 ? phase : 100 - phase) * 4 - 100, cy + (phase < 50 ? phase : 100 - phase) * 2 - 50)
    await new Promise((r) => setTimeout(r, 16))
  }
  await page.mouse.up()
  const frames = await page.evaluate(() => (window as unknown as { __frames: number[] }).__frames.slice(1))
  const sorted = [...frames].sort((a, b) => a - b)
  const total = frames.reduce((a, b) => a + b, 0)
  return { fps: (frames.length * 1000) / total, p95: sorted[Math.floor(0.95 * (sorted.length - 1))] ?? Number.NaN, frames: frames.length }
}
