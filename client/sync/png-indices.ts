/**
 * Decodes a snapshot PNG (docs/SNAPSHOTS.md: colour type 3, palette index i = board colour i,
 * non-interlaced, depth 1/2/4/8) straight into colour indices, one byte a tile. Pure but for the
 * inflate step, which is passed in (the browser's DecompressionStream('deflate'), or zlib in
 * tests).
 *
 * Why not a canvas: createImageBitmap + getImageData gives RGBA after the browser's colour
 * management, which then has to be mapped back to palette indices (and is exact only if no
 * conversion touched the colours). The file already holds the indices; reading them is exact and
 * needs no canvas, about 60 lines and no dependency.
 */

import { unfilterPaletteRows } from '../../shared/png-rows.ts'

/** The indices of a palette PNG: row-major, width * height bytes. */
export type PngIndices = { bitmap: Uint8Array; width: number; height: number; colors: number }

/** Inflates zlib-wrapped data (RFC 1950), as PNG's IDAT stream is. */
export type Inflate = (data: Uint8Array) => Promise<Uint8Array>

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10]
const COLOR_TYPE_PALETTE = 3

/** Decodes a palette PNG into indices, or returns why it cannot (as data). CRCs are not checked. */
export const decodePngIndices = async (bytes: Uint8Array, inflate: Inflate): Promise<PngIndices | { error: string }> => {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) return { error: 'not a PNG file' }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let width = 0
  let height = 0
  let depth = 0
  let colors = 0
  const idat: Uint8Array[] = []
  let at = 8
  for (;;) {
    if (at + 12 > bytes.length) return { error: 'truncated PNG' }
    const len = view.getUint32(at)
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8))
    if (at + 12 + len > bytes.length) return { error: `truncated ${type} chunk` }
    const data = bytes.subarray(at + 8, at + 8 + len)
    if (type === 'IHDR') {
      width = view.getUint32(at + 8)
      height = view.getUint32(at + 12)
      depth = data[8] as number
      if (data[9] !== COLOR_TYPE_PALETTE) return { error: `colour type ${data[9]} is not a palette PNG` }
      if (data[12] !== 0) return { error: 'interlaced PNG' }
      if (![1, 2, 4, 8].includes(depth)) return { error: `bit depth ${depth}` }
    } else if (type === 'PLTE') colors = Math.floor(len / 3)
    else if (type === 'IDAT') idat.push(data)
    else if (type === 'IEND') break
    at += 12 + len
  }
  if (width === 0 || height === 0 || colors === 0) return { error: 'missing IHDR or PLTE' }
  const joined = new Uint8Array(idat.reduce((n, d) => n + d.length, 0))
  let off = 0
  for (const d of idat) {
    joined.set(d, off)
    off += d.length
  }
  const raw = await inflate(joined)
  const bitmap = unfilterPaletteRows(raw, width, height, depth)
  if (!(bitmap instanceof Uint8Array)) return bitmap
  return { bitmap, width, height, colors }
}

/** Inflate with the browser's DecompressionStream ('deflate' is the zlib wrapper, RFC 1950). */
export const browserInflate: Inflate = async (data) => {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}
