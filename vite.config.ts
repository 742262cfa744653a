/**
 * Builds the browser client (client/ -> dist/client, served by the relay with STATIC_DIR) and
 * serves it in development with /api and /ws proxied to a relay on localhost:8080.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

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
  },
  server: {
    proxy: {
      '/api': { target: RELAY, changeOrigin: false },
      '/ws': { target: RELAY, ws: true },
    },
  },
  plugins: [
    VitePWA({
      // An installable app whose service worker precaches the built files, so that the page
      // opens without a network; the board itself comes from IndexedDB then
      // (client/sync/board-store.ts). Navigations (/?board=<id>, any query) are answered with the
      // precached index.html (generateSW's default navigateFallback), so a reload works offline
      // (test/e2e/offline.test.ts). Queued placements are not there yet.
      registerType: 'autoUpdate',
      injectRegister: 'script-defer',
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
        // The API and the WebSocket are live data: never answer them from the cache, and never
        // answer their URLs with the app shell.
        navigateFallbackDenylist: [/^\/api\//, /^\/ws\//],
      },
    }),
  ],
})
