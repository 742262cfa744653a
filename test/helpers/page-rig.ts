/**
 * What the browser suites start before their tests and stop after them: the client built by vite
 * into a temporary directory, a real relay serving it (STATIC_DIR), and Debian's Chromium; and the
 * browser contexts a suite opens, closed with it.
 */
import type { Browser, BrowserContext, BrowserContextOptions } from 'playwright-core'
import { buildClient, launchChromium } from './browser.ts'
import { startTestRelay, type TestRelay } from './start-relay.ts'
import { makeTmpDir } from './tmp-dir.ts'

export type PageRig = {
  relay: TestRelay
  browser: Browser
  /** The built client (a second relay may serve it too). */
  staticDir: string
  /** A fresh browser profile (1280 x 800 unless `options` say otherwise), closed by `stop`. */
  newContext: (options?: BrowserContextOptions) => Promise<BrowserContext>
  /** Closes the contexts, the browser and the relay, and removes the built client. */
  stop: () => Promise<void>
}

/**
 * Builds the client, starts a relay serving it and launches Chromium, at once. `relay` is
 * startTestRelay's options; the built client's directory is added to its env as STATIC_DIR.
 */
export const startPageRig = async (opts: { name: string; relay?: Parameters<typeof startTestRelay>[0] }): Promise<PageRig> => {
  const outDir = makeTmpDir(`tessera-${opts.name}-`)
  const relayOptions = opts.relay ?? {}
  const [, relay, browser] = await Promise.all([
    buildClient(outDir.dir),
    startTestRelay({ ...relayOptions, env: { ...relayOptions.env, STATIC_DIR: outDir.dir } }),
    launchChromium(),
  ])
  const contexts: BrowserContext[] = []
  return {
    relay,
    browser,
    staticDir: outDir.dir,
    newContext: async (options) => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options })
      contexts.push(context)
      return context
    },
    stop: async () => {
      for (const c of contexts) await c.close().catch(() => {})
      await browser.close()
      await relay.stop()
      outDir.remove()
    },
  }
}
