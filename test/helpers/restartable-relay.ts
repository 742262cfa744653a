/**
 * A real relay that browser tests stop and start again under open pages: the built client, one
 * DATA_DIR and, from the first start, one port (the pages know only that one), with Chromium.
 * `setUp` builds the client, starts the relay and the browser at once; `tearDown` runs the
 * registered cleanups (browser contexts, child processes) and removes the folders.
 */
import type { Browser } from 'playwright-core'
import { buildClient, launchChromium } from './browser.ts'
import { startTestRelay, type TestRelay } from './start-relay.ts'
import { makeTmpDir } from './tmp-dir.ts'

export type RestartableRelay = {
  /** The built client (the relay's STATIC_DIR). */
  readonly outDir: string
  readonly dataDir: string
  /** The relay running now, or null while it is stopped. */
  relay: TestRelay | null
  /** The port of every start after the first. */
  port: number
  browser: Browser
  /** Run at tearDown, last registered first. */
  cleanups: (() => Promise<unknown> | unknown)[]
  /** Starts the relay on the same DATA_DIR and port (`onPort` overrides; 0: any). */
  start: (onPort?: number) => Promise<TestRelay>
  /** Closes the relay, keeping DATA_DIR: the pages' sockets close with 1001, then nothing answers. */
  stop: () => Promise<void>
  /** The running relay; throws while it is stopped. */
  live: () => TestRelay
  setUp: () => Promise<void>
  tearDown: () => Promise<void>
}

export const createRestartableRelay = (opts: {
  name: string
  env?: Record<string, string>
  boards?: Record<string, unknown>[]
}): RestartableRelay => {
  const out = makeTmpDir('tessera-client-')
  const data = makeTmpDir(`tessera-${opts.name}-`)
  const rig: RestartableRelay = {
    outDir: out.dir,
    dataDir: data.dir,
    relay: null,
    port: 0,
    browser: undefined as unknown as Browser,
    cleanups: [],
    start: async (onPort = rig.port) => {
      rig.relay = await startTestRelay({
        dataDir: data.dir,
        ...(opts.boards ? { boards: opts.boards } : {}),
        env: { ...opts.env, STATIC_DIR: out.dir, ...(onPort ? { PORT: String(onPort) } : {}) },
      })
      return rig.relay
    },
    stop: async () => {
      const r = rig.live()
      rig.relay = null
      await r.close()
    },
    live: () => {
      if (!rig.relay) throw new Error('the relay is not running')
      return rig.relay
    },
    setUp: async () => {
      const [, started, launched] = await Promise.all([buildClient(out.dir), rig.start(0), launchChromium()])
      rig.port = started.port
      rig.browser = launched
    },
    tearDown: async () => {
      for (const c of rig.cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {})
      await rig.browser?.close()
      await rig.relay?.close()
      out.remove()
      data.remove()
    },
  }
  return rig
}
