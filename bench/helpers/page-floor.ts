/**
 * The browser's floor for the client bench (bench/client-start.ts): how soon this machine's
 * headless Chromium shows a page that is nothing but the board's snapshot PNG in an <img>, served
 * by a bare Node HTTP server with no script, no stylesheet and no service worker. No page that
 * shows the board can be on screen earlier on this machine, measured the same way (Node's clock
 * before page.goto to the image's Element Timing render time), so it says how much of a client
 * figure is the page's own and how much is the browser's.
 *
 * Two figures, each the median of `reps` fresh browser contexts: the first visit (the PNG from
 * the network, as a first visit's snapshot) and the return visit (a second page in the same
 * context, the PNG from the HTTP cache, as a return visit's kept image).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'
import { watchPage } from './page-measures.ts'
import { median } from './stats.ts'

/** The page: the PNG fitted to the viewport, named for Element Timing as the client's preview is. */
const html = (side: number) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>floor</title></head><body style="margin:0;background:#0b0d12">` +
  `<img src="/board.png" elementtiming="board-preview" alt="" width="${side}" height="${side}" style="image-rendering:pixelated"></body></html>`

export type PageFloor = { firstVisit: number; returnVisit: number; firstVisits: number[]; returnVisits: number[] }

export const measurePageFloor = async (browser: Browser, png: Uint8Array, reps: number): Promise<PageFloor> => {
  const page = html(760)
  const server = createServer((req, res) => {
    if (req.url === '/board.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'public, max-age=31536000, immutable' })
      res.end(png)
      return
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' })
    res.end(page)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const firstVisits: number[] = []
  const returnVisits: number[] = []
  try {
    for (let i = 0; i < reps; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
      for (const into of [firstVisits, returnVisits]) {
        const tab = await context.newPage()
        const watch = await watchPage(tab, [])
        const start = Date.now()
        await tab.goto(`http://127.0.0.1:${port}/`)
        const shown = await watch.previewAt(start, 5000)
        if (!shown) throw new Error('the floor page showed no image within 5 s')
        into.push(shown.at)
        await tab.close()
      }
      await context.close()
    }
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
  return { firstVisit: median(firstVisits), returnVisit: median(returnVisits), firstVisits, returnVisits }
}
