/**
 * Builds the moderation page (client/admin/index.html, served at /admin) beside the client's
 * build in dist/client, as a build of its own: its modules shared with the app (the board's
 * sync and view) are bundled into its own script, so the app stays one script; and it carries
 * no service worker registration (it is not part of the offline app). Run after vite.config.ts's
 * build (npm run build): it keeps that build's files and adds admin/ and its assets.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { precompress } from './vite.config.ts'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  root: here('./client'),
  build: {
    outDir: here('./dist/client'),
    emptyOutDir: false,
    copyPublicDir: false,
    assetsDir: 'assets',
    target: 'es2022',
    modulePreload: { polyfill: false },
    rollupOptions: { input: { admin: here('./client/admin/index.html') } },
  },
  plugins: [precompress()],
})
