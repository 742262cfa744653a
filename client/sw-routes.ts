/**
 * The routes the browser takes without waking the service worker's script (the Static Routing
 * API: `InstallEvent.addRoutes`, Chromium 123 and later): a script of its own, written into the
 * build as `sw-routes.js` (vite.config.ts) and imported by the generated service worker
 * (workbox `importScripts`), which adds them when it installs. A browser without the API ignores
 * it, and every request goes through the service worker's fetch handler as before; the routes
 * answer what that handler would, only sooner (measured: docs/PERFORMANCE.md):
 * - a page load races the network against the handler (its precached page), and takes whichever
 *   answers first: online, the relay's page with no service worker to start or run first;
 *   offline or with the relay down, the network fails at once and the precached page answers;
 * - the kept board image (client/sync/kept-image.ts) comes straight from its cache;
 * - the content-hashed files under assets/ come straight from the precache (Workbox keeps them
 *   under their own URLs; a file of a newer build, not precached yet, falls back to the network);
 * - the API and the WebSocket go straight to the network (the handler never answers them).
 */
import { KEPT_IMAGE_PATH } from '../shared/protocol.ts'
import { KEPT_IMAGE_CACHE } from './sync/kept-image.ts'

/** The script's file name at the root of the build (a sibling of sw.js). */
export const SW_ROUTES_FILE = 'sw-routes.js'

/** Path patterns (URLPattern syntax) of each route's requests. */
export const SwRoutePaths = {
  keptImage: `${KEPT_IMAGE_PATH}*`,
  assets: '/assets/*',
  api: '/api/*',
  socket: '/ws/*',
} as const

/** The script's text: plain JavaScript run in the service worker's scope (it cannot import). */
export const swRoutesScript = (): string => {
  const path = (p: string) => `{ urlPattern: new URLPattern({ pathname: ${JSON.stringify(p)} }) }`
  return `// Tessera: routes taken without the service worker's script (client/sw-routes.ts).
self.addEventListener('install', (event) => {
  if (typeof event.addRoutes !== 'function' || typeof URLPattern === 'undefined') return
  const routes = [
    { condition: { requestMode: 'navigate' }, source: 'race-network-and-fetch-handler' },
    { condition: ${path(SwRoutePaths.keptImage)}, source: { cacheName: ${JSON.stringify(KEPT_IMAGE_CACHE)} } },
    { condition: ${path(SwRoutePaths.assets)}, source: 'cache' },
    { condition: ${path(SwRoutePaths.api)}, source: 'network' },
    { condition: ${path(SwRoutePaths.socket)}, source: 'network' },
  ]
  // A browser that refuses a route keeps the fetch handler for everything: nothing breaks.
  event.waitUntil(event.addRoutes(routes).catch(() => {}))
})
`
}
