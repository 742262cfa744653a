/** What the browser tests share: building the client, launching Debian's Chromium, page geometry. */
import { resolve } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { build } from 'vite'

/**
 * Chromium flags for this machine: as root it needs --no-sandbox; the background-networking
 * flags keep it from calling hosts the closed network refuses.
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/** Debian's chromium (apt-get install chromium), or CHROMIUM_PATH. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: CHROMIUM_ARGS })

/**
 * Builds the client into `outDir` as npm run build does: the app and the /embed page
 * (vite.config.ts), the <tessera-board> module /embed.js (vite.embed.config.ts) and the /admin
 * page (vite.admin.config.ts).
 */
export const buildClient = async (outDir: string): Promise<void> => {
  await build({
    configFile: resolve(import.meta.dirname, '../../vite.config.ts'),
    mode: 'production',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  })
  await buildEmbedScript(outDir)
  await build({
    configFile: resolve(import.meta.dirname, '../../vite.admin.config.ts'),
    mode: 'production',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: false },
  })
}

/**
 * Builds /embed.js (the <tessera-board> module, vite.embed.config.ts) into `outDir`, beside a
 * client built there by buildClient (as npm run build does).
 */
export const buildEmbedScript = async (outDir: string): Promise<void> => {
  await build({
    configFile: resolve(import.meta.dirname, '../../vite.embed.config.ts'),
    mode: 'production',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: false },
  })
}

/** Viewport CSS px of the centre of tile (x, y), from where the board canvas is drawn. */
export const tileCenter = (page: Page, x: number, y: number) =>
  page.evaluate(
    ([tx, ty]) => {
      const canvas = document.querySelector('canvas.board') as HTMLCanvasElement
      const r = canvas.getBoundingClientRect()
      return {
        x: r.left + ((tx as number) + 0.5) * (r.width / canvas.width),
        y: r.top + ((ty as number) + 0.5) * (r.height / canvas.height),
      }
    },
    [x, y],
  )

/**
 * The console errors a page may log on a relay without snapshots: Chromium reports the snapshot
 * metadata's 404 (`no-snapshot`, the documented answer when no snapshotter has written one yet),
 * and that of the latest snapshot's PNG the HTML's board preview asks for (client/index.html), as
 * "Failed to load resource", and a page cannot silence that. The client then syncs from the empty
 * state vector.
 */
export const isMissingSnapshotReport = (text: string, url: string): boolean =>
  /^Failed to load resource: the server responded with a status of 404/.test(text) && /\/api\/boards\/[^/]+\/snapshot(\.png)?$/.test(url)
