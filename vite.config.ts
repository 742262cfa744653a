/**
 * Builds the browser client (client/ -> dist/client, served by the relay with STATIC_DIR) and
 * serves it in development with /api and /ws proxied to a relay on localhost:8080.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { extname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { defineConfig, minify, type Plugin } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'
import { SW_ROUTES_FILE, swRoutesScript } from './client/sw-routes.ts'
import { KEPT_IMAGE_CACHE } from './client/sync/kept-image.ts'
import { KEPT_IMAGE_PATH } from './shared/protocol.ts'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/** Kinds of file worth compressing (text); images and fonts are compressed already. */
const COMPRESSIBLE = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.webmanifest', '.json', '.txt'])

/**
 * Writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip, level 9) beside every
 * compressible file of the build, once, so that the relay serves them without compressing on
 * each request (relay/static-files.ts picks one by Accept-Encoding). A variant no smaller than
 * its file is not written: the file is then sent as it is. Runs after every other closeBundle
 * (order 'post', sequential) so that it also sees the service worker vite-plugin-pwa writes then.
 */
export const precompress = (): Plugin => {
  let outDir = ''
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
  return {
    name: 'tessera-precompress',
    apply: 'build',
    configResolved: (config) => {
      outDir = resolve(config.root, config.build.outDir)
    },
    closeBundle: {
      order: 'post',
      sequential: true,
      handler: () => {
        for (const file of walk(outDir)) {
          if (!COMPRESSIBLE.has(extname(file))) continue
          const bytes = readFileSync(file)
          const br = brotliCompressSync(bytes, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: 11,
              [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
              [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
            },
          })
          const gz = gzipSync(bytes, { level: 9 })
          if (br.length < bytes.length) writeFileSync(`${file}.br`, br)
          if (gz.length < bytes.length) writeFileSync(`${file}.gz`, gz)
        }
      },
    },
  }
}

/** Writes the service worker's static routes (client/sw-routes.ts) into the build, beside sw.js, which imports them. */
const serviceWorkerRoutes = (): Plugin => ({
  name: 'tessera-sw-routes',
  apply: 'build',
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: SW_ROUTES_FILE, source: swRoutesScript() })
  },
})

/**
 * Takes the comments out of the pages and minifies their inline scripts (the board preview,
 * client/index.html; the explanations stay in the source): bytes every first visit would
 * otherwise download. The relay's CSP allows the inline scripts by the hashes of what it serves.
 */
const smallerPages = (): Plugin => ({
  name: 'tessera-smaller-pages',
  apply: 'build',
  transformIndexHtml: {
    order: 'post',
    handler: async (html) => {
      let out = html.replace(/\n?[ \t]*<!--(?!\[)[\s\S]*?-->/g, '')
      for (const m of [...out.matchAll(/<script>([\s\S]*?)<\/script>/g)]) {
        const { code } = await minify('inline.js', m[1] as string)
        out = out.replace(m[0], `<script>${code.trim()}</script>`)
      }
      return out
    },
  },
})

/**
 * The /embed page registers the service worker itself (client/embed-page.ts), catching the
 * refusal a third-party frame meets where storage is blocked: vite-plugin-pwa's register script
 * (an unhandled rejection there) and the install manifest are taken out of embed.html. Runs after
 * vite-plugin-pwa's transformIndexHtml (enforce 'post', listed after it).
 */
const embedPageWithoutPwaTags = (): Plugin => ({
  name: 'tessera-embed-page',
  apply: 'build',
  enforce: 'post',
  transformIndexHtml: {
    order: 'post',
    handler: (html, ctx) =>
      ctx.filename.endsWith('embed.html')
        ? html.replace(/<script id="vite-plugin-pwa:[^"]*"[^>]*>[\s\S]*?<\/script>/, '').replace(/<link rel="manifest"[^>]*>/, '')
        : html,
  },
})

/**
 * The dev server (npm run dev) answers /embed.js with the element's source and /embed with
 * embed.html, as the relay serves the built files.
 */
const embedInDev = (): Plugin => ({
  name: 'tessera-embed-dev',
  apply: 'serve',
  configureServer: (server) => {
    server.middlewares.use((req, _res, next) => {
      const [path, query] = (req.url ?? '').split('?')
      if (path === '/embed.js') req.url = '/embed/tessera-board.ts'
      else if (path === '/embed') req.url = `/embed.html${query === undefined ? '' : `?${query}`}`
      next()
    })
  },
})

/**
 * Where the dev server proxies /api and /ws: the relay's default port, or RELAY_URL (e.g.
 * RELAY_URL=http://localhost:9000 npx vite). Only the dev server reads it; builds do not.
 */
const RELAY = process.env.RELAY_URL || 'http://localhost:8080'

export default defineConfig({
  root: here('./client'),
  build: {
    outDir: here('./dist/client'),
    emptyOutDir: true,
    // The relay serves assets/ with immutable caching; vite names them by content hash.
    assetsDir: 'assets',
    target: 'es2022',
    // The app, and the /embed page (an iframe's board, docs/EMBEDDING.md). The <tessera-board>
    // module /embed.js (vite.embed.config.ts) and the moderation page /admin
    // (vite.admin.config.ts) are builds of their own: the app stays one script, and neither
    // is part of the offline app.
    rollupOptions: { input: { main: here('./client/index.html'), embed: here('./client/embed.html') } },
    // Each page is one script, with nothing to preload: no modulepreload polyfill (as a second
    // page it would become a chunk of its own, one more request for the app).
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      '/api': { target: RELAY, changeOrigin: false },
      '/ws': { target: RELAY, ws: true },
    },
  },
  plugins: [
    precompress(),
    VitePWA({
      // An installable app whose service worker precaches the built files, so that the page
      // opens without a network; the board itself comes from IndexedDB then
      // (client/sync/board-store.ts). Navigations (/?board=<id>, any query) are answered with the
      // precached index.html (generateSW's default navigateFallback), so a reload works offline
      // (test/e2e/offline.test.ts). Queued placements are not there yet.
      registerType: 'autoUpdate',
      // Inline in the page (allowed by its hash, relay/static-files.ts): one request fewer than
      // registerSW.js on a first visit (about 0.4 KB with its headers, docs/PERFORMANCE.md).
      injectRegister: 'inline',
      includeAssets: ['icon.svg'],
      manifest: {
        name: 'Tessera',
        short_name: 'Tessera',
        description: 'A shared pixel canvas: place one tile, wait, place another.',
        theme_color: '#0b0d12',
        background_color: '#0b0d12',
        display: 'standalone',
        start_url: '/',
        icons: [{ src: 'icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg}'],
        // Routes the browser takes without running this worker's script, where it can (client/sw-routes.ts).
        importScripts: [SW_ROUTES_FILE],
        // The API and the WebSocket are live data: never answer them from the cache, and never
        // answer their URLs with the app shell; nor /admin, the moderation page (not the app).
        // /embed is its own page (precached embed.html, found by its clean URL), never the app.
        // Workbox tests these against the path and the query.
        navigateFallbackDenylist: [/^\/api\//, /^\/ws\//, /^\/admin([/?]|$)/, /^\/embed/],
        // /embed.js (the element, built after this service worker by vite.embed.config.ts, so not
        // precached): from the network, or the copy kept when offline (the /embed page's board).
        runtimeCaching: [
          // The board's image the page keeps for the next visit's first frame (client/sync/kept-image.ts:
          // KEPT_IMAGE_PATH, KEPT_IMAGE_CACHE): only ever from that cache; the relay has no such URL.
          // (Where the browser has static routes, client/sw-routes.ts, it takes that cache without this handler.)
          {
            urlPattern: ({ url }) => url.pathname.startsWith(KEPT_IMAGE_PATH),
            handler: 'CacheOnly',
            options: { cacheName: KEPT_IMAGE_CACHE },
          },
          {
            urlPattern: ({ url }) => url.pathname === '/embed.js',
            handler: 'NetworkFirst',
            options: { cacheName: 'tessera-embed' },
          },
        ],
      },
    }),
    serviceWorkerRoutes(),
    embedPageWithoutPwaTags(),
    smallerPages(),
    embedInDev(),
  ],
})
