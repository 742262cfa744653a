/**
 * What the client bench (bench/client-start.ts) reads off a page in headless Chromium: when a
 * tile shows on the canvas, when the HTML's preview image was rendered (Element Timing), the
 * first board on screen (the earlier of the two), all recorded by the page itself (watchPage), the page's bitmap, its own performance marks,
 * the bytes it received, its JS heap, and its frame times while the view is dragged.
 */
import type { BrowserContext, Page } from 'playwright-core'
import { waitFor } from '../../test/helpers/wait-for.ts'

/** The window every bench page is measured in (CSS px): the client's and the browser floor's alike. */
export const BENCH_VIEWPORT = { width: 1280, height: 800 } as const

/** A tile to watch for on the page's canvas: (x, y) showing colour `rgb`. */
export type WatchedTile = { x: number; y: number; rgb: [number, number, number] }

/**
 * What the page records about itself from before its first script (an init script, in the page's
 * own world): the frame (requestAnimationFrame time, ms from the page's timeOrigin) in which each
 * watched tile first showed on the visible canvas, checked once a frame, and the preview image's
 * render time (Element Timing, elementtiming="board-preview") and URL. A string, not a function:
 * tsx compiles functions with a helper (__name) the page lacks.
 */
const WATCH_SCRIPT = `(() => {
  const targets = window.__benchTargets || []
  const seen = { tiles: targets.map(() => null), preview: null, previewUrl: null }
  window.__benchSeen = seen
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.identifier !== 'board-preview' || seen.preview !== null) continue
        seen.preview = e.renderTime || e.loadTime
        seen.previewUrl = e.url
      }
    }).observe({ type: 'element', buffered: true })
  } catch {}
  const tick = (now) => {
    const canvas = document.querySelector('canvas.board')
    // A canvas held hidden under the HTML's preview is not on screen.
    if (canvas && getComputedStyle(canvas).visibility === 'visible') {
      const ctx = canvas.getContext('2d')
      targets.forEach((t, i) => {
        if (seen.tiles[i] !== null || !ctx || canvas.width <= t.x || canvas.height <= t.y) return
        const d = ctx.getImageData(t.x, t.y, 1, 1).data
        if (d[0] === t.rgb[0] && d[1] === t.rgb[1] && d[2] === t.rgb[2]) seen.tiles[i] = now
      })
    }
    if (seen.tiles.some((v) => v === null)) requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
})()`

/**
 * Watches a page from its next navigation on (call before page.goto): when each of `tiles`
 * first shows on its canvas, and when its preview image was rendered. Times are ms since
 * `start` (Node's clock taken before page.goto; the page's timeOrigin is the same wall clock).
 *
 * Why the page watches itself: polling it from here with Playwright's waitForFunction injects
 * Playwright's own script into the page on first use, and that took about 100 ms of the page's
 * main thread here, in the middle of the app's start (a Chromium trace showed it), delaying what
 * it measured. The answers are read through a bare DevTools session (Runtime.evaluate of a few
 * lines), which injects nothing.
 */
export const watchPage = async (page: Page, tiles: readonly WatchedTile[]) => {
  await page.addInitScript(`window.__benchTargets = ${JSON.stringify(tiles)};\n${WATCH_SCRIPT}`)
  const cdp = await page.context().newCDPSession(page)
  /** Evaluates `expression` in the page (awaiting a promise), by value. */
  const ask = async <T>(expression: string): Promise<T> => {
    const r = await cdp.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`)
    return r.result.value as T
  }
  /** Resolves when `check` (an expression on `seen`) is not null, polled every 10 ms in the page, or null after `waitMs`. */
  const when = <T>(check: string, waitMs: number) =>
    ask<T | null>(`new Promise((resolve) => {
      const until = performance.now() + ${waitMs}
      const look = () => {
        const seen = window.__benchSeen
        const v = seen ? (${check}) : null
        if (v !== null) resolve(v)
        else if (performance.now() > until) resolve(null)
        else setTimeout(look, 10)
      }
      look()
    })`)
  return {
    /** Ms since `start` when tile `i` first showed on the canvas (waits up to 120 s). */
    tileAt: async (i: number, start: number): Promise<number> => {
      const at = await when<number>(`seen.tiles[${i}] === null ? null : performance.timeOrigin + seen.tiles[${i}]`, 120_000)
      if (at === null) throw new Error(`tile ${i} (${JSON.stringify(tiles[i])}) never showed on the canvas`)
      return Math.round(at - start)
    },
    /** The preview's render time (ms since `start`) and its URL's path, or null if none was rendered within `waitMs`. */
    previewAt: async (start: number, waitMs: number): Promise<{ at: number; url: string } | null> => {
      const found = await when<{ at: number; url: string }>(
        'seen.preview === null ? null : { at: performance.timeOrigin + seen.preview, url: seen.previewUrl }',
        waitMs,
      )
      return found ? { at: Math.round(found.at - start), url: new URL(found.url).pathname } : null
    },
    detach: () => cdp.detach(),
  }
}

export type PageWatch = Awaited<ReturnType<typeof watchPage>>

/**
 * The first board on screen (ms since `start`): the earlier of the preview image and the canvas
 * showing watched tile `i`. A page without a preview (the old client) is given 2 s after its canvas
 * to report one.
 */
export const firstBoardAt = async (watch: PageWatch, start: number, i: number) => {
  const canvasAt = await watch.tileAt(i, start)
  const p = await watch.previewAt(start, 2000)
  return { firstPaint: p ? Math.min(p.at, canvasAt) : canvasAt, canvasAt, previewAt: p?.at ?? null, previewUrl: p?.url ?? null }
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
      boardInfoAt: round(performance.getEntriesByName('tessera:board-info')[0]?.startTime),
      snapshotBytes: round(performance.getEntriesByName('tessera:snapshot-bytes')[0]?.startTime),
      boardInfoRequests: resources.filter((e) => new URL(e.name).pathname.startsWith('/api/boards/')).length,
      decode: round(performance.getEntriesByName('tessera:snapshot-decode')[0]?.duration),
      html: nav ? [round(nav.requestStart), round(nav.responseEnd)] : null,
      domInteractive: nav ? round(nav.domInteractive) : null,
      script: span((p) => p.endsWith('.js') && p.startsWith('/assets/')),
      boardInfo: span((p) => p.startsWith('/api/boards/') && p.split('/').length === 4),
      png: span((p) => p.endsWith('.png')),
      appPng: span((p) => p.startsWith('/snapshots/') && p.endsWith('.png')),
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

/**
 * Stops the context's service workers, as the browser stops an idle one (within a minute here),
 * and resolves once none runs: a return visit a day later starts its worker again.
 */
export const stopServiceWorkers = async (context: BrowserContext): Promise<void> => {
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  const status = new Map<string, string>()
  cdp.on('ServiceWorker.workerVersionUpdated', (e) => {
    for (const v of e.versions) status.set(v.versionId, v.runningStatus)
  })
  await cdp.send('ServiceWorker.enable')
  await cdp.send('ServiceWorker.stopAllWorkers')
  await waitFor(() => status.size > 0 && [...status.values()].every((s) => s === 'stopped'), {
    timeoutMs: 10_000,
    what: 'the service workers stopped',
  })
  await cdp.detach()
  await page.close()
}
