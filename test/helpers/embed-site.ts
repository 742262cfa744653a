/**
 * The embeds' test site (test/e2e/embed*.test.ts): the client built by vite and served by a real
 * relay addressed as 127.0.0.1, host pages served by a tiny HTTP server on `localhost` (another
 * site; a second one, `other`, is not in EMBED_PLACE_ORIGINS), Debian's Chromium with third-party
 * cookies blocked (--test-third-party-cookie-phaseout; the tests check that the frame has no
 * storage access). Probed on Chromium 156 (Debian 12): a third-party frame over http got no cookie
 * with or without that flag, so the flag states the intent and the checks hold either way. The
 * host pages record every embed event (DOM events and the iframe's postMessages).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { buildClient, isMissingSnapshotReport } from './browser.ts'
import { startTestRelay, type TestRelay } from './start-relay.ts'
import { makeTmpDir } from './tmp-dir.ts'

/** The secret the test host shares with the relay (config.json embedSites, issuer 'test-host'). */
export const EMBED_SECRET = 'embed-test-secret-0123456789abcdef'

export type Board = HTMLElement & {
  status: string
  colorAt: (x: number, y: number) => number | undefined
  identity: { user: string; name: string | null } | null
  place: (i: { x: number; y: number; color: number }) => Promise<unknown>
  select: (x: number, y: number) => void
}

export const createEmbedSite = () => {
  const site = {
    relay: undefined as unknown as TestRelay,
    browser: undefined as unknown as Browser,
    hostOrigin: '',
    otherOrigin: '',
    contexts: [] as BrowserContext[],
  }
  let host: Server
  let other: Server
  const outDir = makeTmpDir('tessera-embed-')
  /** The host pages the tiny server answers, by path. */
  const pages = new Map<string, string>()

  const setUp = async () => {
    const serve = () =>
      createServer((req, res) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname
        // No icon: answered empty, so that the browser logs no 404 (console errors are checked).
        if (path === '/favicon.ico') return void res.writeHead(204).end()
        const html = pages.get(path)
        res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' })
        res.end(html ?? 'no such page')
      })
    host = serve()
    other = serve()
    await new Promise<void>((resolve) => host.listen(0, 'localhost', resolve))
    await new Promise<void>((resolve) => other.listen(0, 'localhost', resolve))
    site.hostOrigin = `http://localhost:${(host.address() as AddressInfo).port}`
    site.otherOrigin = `http://localhost:${(other.address() as AddressInfo).port}`
    const [, started] = await Promise.all([
      buildClient(outDir.dir),
      startTestRelay({
        boards: [
          { id: 'main', width: 64, height: 64, cooldownMs: 0 },
          { id: 'slow', width: 32, height: 32, cooldownMs: 600_000 },
        ],
        // The host's secret per site (config.json embedSites): a token of another issuer is then
        // refused as unknown (with EMBED_SECRET set it would be checked against that instead).
        configJson: { embedSites: { 'test-host': { secret: EMBED_SECRET } } },
        env: { STATIC_DIR: outDir.dir, EMBED_PLACE_ORIGINS: site.hostOrigin },
      }),
    ])
    site.relay = started
    site.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        // Third-party cookies blocked, as browsers are moving to (checked below: no storage access).
        '--test-third-party-cookie-phaseout',
      ],
    })
  }

  /**
   * Closes the pages a test opened (each test's after-hook): a live embed left open keeps its
   * socket, timers and saves running through the next tests, on a 2-core machine.
   */
  const closePages = async () => {
    for (const c of site.contexts.splice(0)) await c.close().catch(() => {})
  }

  const tearDown = async () => {
    await closePages()
    await site.browser?.close()
    await site.relay?.stop()
    await new Promise((r) => host?.close(r))
    await new Promise((r) => other?.close(r))
    outDir?.remove()
  }

  /** What the host pages record: every embed event (DOM events and postMessages from the relay). */
  const RECORDER = `<script>
    window.events = []
    for (const type of ['tessera-ready', 'tessera-select', 'tessera-placed', 'tessera-rejected', 'tessera-status'])
      document.addEventListener(type, (e) => events.push({ type, detail: e.detail, target: e.target.id }))
    window.messages = []
    addEventListener('message', (e) => { if (e.origin === '__RELAY__') messages.push(e.data) })
  </script>`

  /** Console errors of each page and its frames (CSP violations among them), but the documented snapshot 404. */
  const consoleErrors = new Map<Page, string[]>()

  /** Serves a host page on the host site and opens it in a fresh profile. */
  const openHost = async (name: string, body: string, origin = site.hostOrigin): Promise<Page> => {
    pages.set(
      `/${name}`,
      `<!doctype html><html><head><meta charset="utf-8"></head><body>${RECORDER}${body}</body></html>`.replaceAll(
        '__RELAY__',
        site.relay.url,
      ),
    )
    const context = await site.browser.newContext({ viewport: { width: 1000, height: 900 } })
    site.contexts.push(context)
    const page = await context.newPage()
    page.on('pageerror', (err) => {
      throw err
    })
    const errors: string[] = []
    consoleErrors.set(page, errors)
    page.on('console', (m) => {
      if (m.type() === 'error' && !isMissingSnapshotReport(m.text(), m.location().url)) errors.push(`${m.location().url}: ${m.text()}`)
    })
    await page.goto(`${origin}/${name}`)
    return page
  }

  const elementHtml = (id: string, attrs: string) =>
    `<script type="module" src="${site.relay.url}/embed.js"></script>
     <tessera-board id="${id}" relay="${site.relay.url}" ${attrs} style="width:480px;height:360px"></tessera-board>`

  const iframeHtml = (id: string, query: string) =>
    `<iframe id="${id}" src="${site.relay.url}/embed?${query}" width="480" height="360"></iframe>
     <script>document.getElementById('${id}').addEventListener('load', (e) => e.target.contentWindow.postMessage({ type: 'tessera-hello' }, '${site.relay.url}'))</script>`

  /** The colour index element `#id` shows at (x, y), in the page or a frame. */
  const colorAt = (where: Page | Frame, selector: string, x: number, y: number) =>
    where.evaluate(([s, tx, ty]) => (document.querySelector(s as string) as Board).colorAt(tx as number, ty as number), [
      selector,
      x,
      y,
    ] as const)

  const statusOf = (where: Page | Frame, selector: string) =>
    where.evaluate((s) => (document.querySelector(s) as Board | null)?.status ?? null, selector)

  /** The iframe page's frame (the relay's origin). */
  const embedFrame = (page: Page): Frame => {
    const frame = page.frames().find((f) => f.url().startsWith(`${site.relay.url}/embed`))
    if (!frame) throw new Error('no /embed frame')
    return frame
  }

  /** RGB of canvas pixel (x, y) (region coordinates) of the element's shadow canvas. */
  const canvasPixel = (where: Page | Frame, selector: string, x: number, y: number) =>
    where.evaluate(
      ([s, px, py]) => {
        const canvas = (document.querySelector(s as string) as HTMLElement).shadowRoot?.querySelector('canvas.board') as HTMLCanvasElement
        return [...(canvas.getContext('2d')?.getImageData(px as number, py as number, 1, 1).data ?? [])].slice(0, 3)
      },
      [selector, x, y] as const,
    )

  const events = (page: Page) =>
    page.evaluate(() => (window as unknown as { events: { type: string; detail: Record<string, unknown>; target: string }[] }).events)
  const messages = (page: Page) =>
    page.evaluate(() => (window as unknown as { messages: { type: string; detail: Record<string, unknown> }[] }).messages)

  return {
    site,
    setUp,
    tearDown,
    closePages,
    openHost,
    elementHtml,
    iframeHtml,
    colorAt,
    statusOf,
    embedFrame,
    canvasPixel,
    events,
    messages,
    consoleErrors,
  }
}
