/**
 * Keeps an image of the board for the next visit's first frame (client/ui/board-preview.ts): a
 * PNG of the bitmap (one pixel a tile) put into Cache Storage under the board's fixed same-origin
 * URL, which the service worker answers from there (online and offline) before any script runs.
 * Written with each IndexedDB save (client/sync/board-saver.ts), so that the image and the stored
 * board the app paints first are the same pixels. The IndexedDB record stays the source of truth:
 * the image is only looked at, never read back.
 */
import type { BoardConfig } from '../../shared/board.ts'
import { KEPT_IMAGE_COOKIE_PREFIX, keptImageUrl } from '../../shared/protocol.ts'
import { paintRect, paletteLut } from '../render/paint.ts'
import { leaveRelayHint } from './relay-hint.ts'

/**
 * localStorage key prefix: the image's size, '<width>x<height>', once the board's image is in
 * Cache Storage (KEPT_IMAGE_CACHE); the inline script places the image with it before the image
 * has loaded. ('1', from before the size was kept, still names an image, placed once loaded.)
 */
export const KEPT_IMAGE_KEY_PREFIX = 'tessera.kept-image.'

/** The Cache Storage cache that holds the kept images; the service worker answers from it only (vite.config.ts). */
export const KEPT_IMAGE_CACHE = 'tessera-kept'

/** Writes a board's image; writes are made one after another, so the last one asked for is the one kept. */
export type BoardImageKeeper = {
  /** Paints `bitmap` now (the board may change while the PNG is encoded), then stores it. */
  keep: (config: BoardConfig, bitmap: Uint8Array) => void
}

/**
 * The keeper of one board's image. Does nothing where Cache Storage or OffscreenCanvas is missing
 * (an insecure origin, an old browser); once an image is stored, localStorage says so
 * (KEPT_IMAGE_KEY_PREFIX), which the next visit's inline script reads, and so does a cookie for
 * the relay (client/sync/relay-hint.ts) on its own page (`origin`: the relay API's, as AppOptions).
 */
export const createBoardImageKeeper = (boardId: string, storage: Storage | null, origin: string): BoardImageKeeper => {
  let writing: Promise<void> = Promise.resolve()
  let hinted = false
  const store = async (pixels: ImageData) => {
    try {
      const canvas = new OffscreenCanvas(pixels.width, pixels.height)
      canvas.getContext('2d', { alpha: false })?.putImageData(pixels, 0, 0)
      const png = await canvas.convertToBlob({ type: 'image/png' })
      const cache = await caches.open(KEPT_IMAGE_CACHE)
      await cache.put(
        keptImageUrl(boardId),
        new Response(png, { headers: { 'content-type': 'image/png', 'content-length': String(png.size) } }),
      )
      storage?.setItem(`${KEPT_IMAGE_KEY_PREFIX}${boardId}`, `${pixels.width}x${pixels.height}`)
      // The relay's answer to the next page load then preloads the image (relay/http-api.ts), so
      // that it is asked for with the page, not when the head's script runs. Once a page.
      if (!hinted) leaveRelayHint(origin, `${KEPT_IMAGE_COOKIE_PREFIX}${boardId}`)
      hinted = true
    } catch {
      // Storage full or refused: the next visit paints the IndexedDB board once its script runs.
    }
  }
  return {
    keep: (config, bitmap) => {
      if (typeof caches === 'undefined' || typeof OffscreenCanvas === 'undefined') return
      const { width, height } = config
      if (width * height === 0 || bitmap.length < width * height) return
      const pixels = new ImageData(width, height)
      paintRect(pixels.data, bitmap, width, paletteLut(config.palette), { x: 0, y: 0, w: width, h: height })
      writing = writing.then(() => store(pixels))
    },
  }
}
