/**
 * Builds /embed.js, the <tessera-board> element (client/embed/tessera-board.ts), as ONE ES
 * module beside the client's build in dist/client: every import is inlined (no chunks to fetch
 * across origins), the styles too (into the shadow root). Run after vite.config.ts's build
 * (npm run build): it keeps that build's files and adds embed.js (+ .br, .gz). The relay
 * serves it with CORS `*` and revalidation (no-cache + ETag): a new build reaches hosts at once.
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
    target: 'es2022',
    lib: { entry: here('./client/embed/tessera-board.ts'), formats: ['es'], fileName: () => 'embed.js' },
  },
  plugins: [precompress()],
})
