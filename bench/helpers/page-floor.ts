/**
 * The browser's floor for the client bench (bench/client-start.ts): how soon this machine's
 * headless Chromium shows a page that is nothing but the board's snapshot PNG in an <img>, served
 * by a bare Node HTTP server with no stylesheet, no app and no work of its own. No page that
 * shows the board can be on screen earlier on this machine, measured the same way (Node's clock
 * before page.goto to the image's Element Timing render time), so it says how much of a client
 * figure is the page's own and how much is the browser's.
 *
 * Each figure is the median of `reps` fresh browser contexts:
 * - first visit: the PNG from the network (as a first visit's snapshot);
 * - return visit: a second page in the same context, the PNG from the HTTP cache;
 * - a return visit to a page controlled by a service worker, as the client's return visits are
 *   (the client keeps its board's image in Cache Storage, which only a worker can answer from):
 *   the worker is the smallest that does what the client's does, with the client's own static
 *   routes (client/sw-routes.ts: the page races the network against the worker, the image comes
 *   straight from its cache). Measured online with the worker running, online with it stopped
 *   (as a day later) and offline, as the client's return visits are. This page carries the
 *   client page's security headers (relay/http-api.ts pageSecurityHeaders): their
 *   Cross-Origin-Opener-Policy moves a page opened from a new tab's about:blank to a new
 *   renderer, as the client's, 20-35 ms on this machine that the bare page does not pay
 *   (docs/PERFORMANCE.md); a visitor coming from another site pays it either way.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'
import { swRoutesScript } from '../../client/sw-routes.ts'
import { KEPT_IMAGE_CACHE } from '../../client/sync/kept-image.ts'
import { pageSecurityHeaders } from '../../relay/http-api.ts'
import { keptImageUrl } from '../../shared/protocol.ts'
import { BENCH_VIEWPORT, stopServiceWorkers, watchPage } from './page-measures.ts'
import { median } from './stats.ts'

/** The page: the PNG fitted to the viewport, named for Element Timing as the client's preview is. */
const html = (side: number, src: string, worker: boolean) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>floor</title></head><body style="margin:0;background:#0b0d12">` +
  `<img src="${src}" elementtiming="board-preview" alt="" width="${side}" height="${side}" style="image-rendering:pixelated">` +
  // A script of its own, not inline: the page's CSP (below) allows the page's origin only.
  (worker ? `<script src="${REGISTER}"></script>` : '') +
  `</body></html>`

const IMAGE = '/board.png'
const KEPT = keptImageUrl('floor')
const WORKER_PAGE = '/kept-page'
const PAGES_CACHE = 'floor-pages'
const REGISTER = '/register.js'

/** The worker: the client's static routes, then a fetch handler that answers what they would. */
const workerScript = () =>
  `${swRoutesScript()}
self.addEventListener('install', (event) => {
  event.waitUntil(Promise.all([
    caches.open(${JSON.stringify(KEPT_IMAGE_CACHE)}).then((c) => c.add(${JSON.stringify(KEPT)})),
    caches.open(${JSON.stringify(PAGES_CACHE)}).then((c) => c.add(${JSON.stringify(WORKER_PAGE)})),
  ]).then(() => self.skipWaiting()))
})
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))
self.addEventListener('fetch', (event) => {
  const path = new URL(event.request.url).pathname
  if (event.request.mode === 'navigate') {
    event.respondWith(fetch(event.request).catch(() => caches.match(${JSON.stringify(WORKER_PAGE)}, { cacheName: ${JSON.stringify(PAGES_CACHE)} })))
  } else if (path === ${JSON.stringify(KEPT)}) {
    event.respondWith(caches.match(${JSON.stringify(KEPT)}, { cacheName: ${JSON.stringify(KEPT_IMAGE_CACHE)} }).then((r) => r ?? Response.error()))
  }
})
`

export type PageFloor = {
  firstVisit: number
  returnVisit: number
  firstVisits: number[]
  returnVisits: number[]
  /** Return visits to the worker-controlled page, by kind: its median and every value. */
  worker: Record<ReturnVisit, { median: number; values: number[] }>
}

/** The return visits measured, of the client (bench/client-start.ts) and of this floor alike. */
export const RETURN_VISITS = ['online', 'stopped', 'offline'] as const
export type ReturnVisit = (typeof RETURN_VISITS)[number]

export const measurePageFloor = async (browser: Browser, png: Uint8Array, reps: number): Promise<PageFloor> => {
  const side = 760
  const worker = workerScript()
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === IMAGE || path === KEPT) {
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'public, max-age=31536000, immutable' })
      res.end(png)
      return
    }
    if (path === '/sw.js' || path === REGISTER) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' })
      res.end(path === REGISTER ? `navigator.serviceWorker.register('/sw.js')` : worker)
      return
    }
    const workerPage = path === WORKER_PAGE
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      ...(workerPage ? pageSecurityHeaders([]) : {}),
    })
    res.end(workerPage ? html(side, KEPT, true) : html(side, IMAGE, false))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  /** Opens `path` in a new page of `context`: ms from Node's clock before page.goto to the image on screen. */
  const visit = async (context: Awaited<ReturnType<Browser['newContext']>>, path: string) => {
    const tab = await context.newPage()
    const watch = await watchPage(tab, [])
    const start = Date.now()
    await tab.goto(`${origin}${path}`)
    const shown = await watch.previewAt(start, 5000)
    if (!shown) throw new Error(`the floor page ${path} showed no image within 5 s`)
    return { tab, at: shown.at }
  }
  const firstVisits: number[] = []
  const returnVisits: number[] = []
  const workerValues: Record<ReturnVisit, number[]> = { online: [], stopped: [], offline: [] }
  try {
    for (let i = 0; i < reps; i++) {
      const context = await browser.newContext({ viewport: BENCH_VIEWPORT })
      for (const into of [firstVisits, returnVisits]) {
        const { tab, at } = await visit(context, '/')
        into.push(at)
        await tab.close()
      }
      // The worker installed (its caches filled) and controlling, then the return visits.
      const first = await visit(context, WORKER_PAGE)
      await first.tab.evaluate(() => navigator.serviceWorker.ready.then(() => true))
      await first.tab.close()
      for (const kind of RETURN_VISITS) {
        if (kind === 'stopped') await stopServiceWorkers(context)
        if (kind === 'offline') await context.setOffline(true)
        const { tab, at } = await visit(context, WORKER_PAGE)
        workerValues[kind].push(at)
        await tab.close()
      }
      await context.close()
    }
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
  const byKind = (kind: ReturnVisit) => ({ median: median(workerValues[kind]), values: workerValues[kind] })
  return {
    firstVisit: median(firstVisits),
    returnVisit: median(returnVisits),
    firstVisits,
    returnVisits,
    worker: { online: byKind('online'), stopped: byKind('stopped'), offline: byKind('offline') },
  }
}
