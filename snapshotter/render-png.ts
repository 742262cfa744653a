/**
 * Palette-indexed PNG writing and reading for board bitmaps (pure: no I/O; zlib is the only
 * dependency). A board bitmap is row-major color indices, one byte a tile.
 *
 * Why a hand-written writer: bench/png-encoders.ts measured it against fast-png, pngjs and
 * upng-js (docs/SNAPSHOTS.md): it writes exact 1/2/4/8-bit palette PNGs and was the fastest and
 * among the smallest. Rows use filter 0 (none), which the PNG spec recommends for palette images.
 */
import { deflateSync, inflateSync, crc32 as zlibCrc32 } from 'node:zlib'
import { colorToRgb } from '../shared/palette.ts'
import { unfilterPaletteRows } from '../shared/png-rows.ts'

/** The 8-byte PNG signature. */
const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)
/** PNG color type 3: palette indices. */
const COLOR_TYPE_PALETTE = 3

/** CRC-32 over the parts in order (zlib's native crc32: Node >= 20.15). */
const crc32 = (parts: readonly Uint8Array[]): number => {
  let c = 0
  for (const bytes of parts) c = zlibCrc32(bytes, c)
  return c
}

const te = new TextEncoder()

const chunk = (type: string, data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  const typeBytes = te.encode(type)
  out.set(typeBytes, 4)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32([typeBytes, data]))
  return out
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Smallest PNG bit depth that holds indices below `colors`: 1, 2, 4 or 8. */
export const bitDepthFor = (colors: number): 1 | 2 | 4 | 8 => (colors <= 2 ? 1 : colors <= 4 ? 2 : colors <= 16 ? 4 : 8)

const ihdr = (width: number, height: number, depth: number): Uint8Array => {
  const data = new Uint8Array(13)
  const view = new DataView(data.buffer)
  view.setUint32(0, width)
  view.setUint32(4, height)
  data[8] = depth
  data[9] = COLOR_TYPE_PALETTE
  // compression 0 (deflate), filter method 0, interlace 0 (none): the zero bytes already there.
  return data
}

const plte = (palette: readonly string[]): Uint8Array => {
  const data = new Uint8Array(palette.length * 3)
  for (const [i, color] of palette.entries()) data.set(colorToRgb(color), i * 3)
  return data
}

/** Packs rows of indices at `depth` bits, MSB first, each row prefixed by filter byte 0. */
const packRows = (bitmap: Uint8Array, width: number, height: number, depth: number): Uint8Array => {
  const rowBytes = Math.ceil((width * depth) / 8)
  const raw = new Uint8Array(height * (rowBytes + 1))
  if (depth === 8) {
    for (let y = 0; y < height; y++) raw.set(bitmap.subarray(y * width, (y + 1) * width), y * (rowBytes + 1) + 1)
    return raw
  }
  if (depth === 4) {
    // The common case (16-color palettes): two tiles a byte, no inner loop (this loop was most
    // of a 1000x1000 encode's time when written generically).
    const pairs = width >> 1
    for (let y = 0; y < height; y++) {
      let src = y * width
      let at = y * (rowBytes + 1) + 1
      for (let i = 0; i < pairs; i++, src += 2) raw[at++] = ((bitmap[src] as number) << 4) | (bitmap[src + 1] as number)
      if (width & 1) raw[at] = (bitmap[src] as number) << 4
    }
    return raw
  }
  const perByte = 8 / depth
  for (let y = 0; y < height; y++) {
    const src = y * width
    let at = y * (rowBytes + 1) + 1
    for (let x = 0; x < width; x += perByte) {
      let byte = 0
      for (let k = 0; k < perByte; k++) {
        byte = (byte << depth) | (x + k < width ? (bitmap[src + x + k] as number) : 0)
      }
      raw[at++] = byte
    }
  }
  return raw
}

export type PngOptions = {
  /** zlib level 0..9. 6 (the default) measured the best time/size trade-off (docs/SNAPSHOTS.md). */
  level?: number
  /** tEXt entries (keyword -> Latin-1 text), e.g. { Tessera: '{"version":12}' }. */
  text?: Record<string, string>
}

const textChunk = (keyword: string, text: string): Uint8Array => chunk('tEXt', te.encode(`${keyword}\0${text}`))

/**
 * Encodes a board bitmap (row-major color indices < palette.length) as a palette PNG of the
 * smallest bit depth the palette allows.
 */
export const encodePalettePng = (
  bitmap: Uint8Array,
  width: number,
  height: number,
  palette: readonly string[],
  opts: PngOptions = {},
): Uint8Array => {
  if (bitmap.length !== width * height) throw new Error(`png: bitmap has ${bitmap.length} bytes, expected ${width * height}`)
  if (palette.length < 1 || palette.length > 256) throw new Error('png: a palette has 1..256 colors')
  const depth = bitDepthFor(palette.length)
  const idat = deflateSync(packRows(bitmap, width, height, depth), { level: opts.level ?? 6 })
  return concat([
    SIGNATURE,
    chunk('IHDR', ihdr(width, height, depth)),
    chunk('PLTE', plte(palette)),
    ...Object.entries(opts.text ?? {}).map(([k, v]) => textChunk(k, v)),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array(0)),
  ])
}

/** A decoded palette PNG. */
export type DecodedPng = { bitmap: Uint8Array; width: number; height: number; palette: string[]; text: Record<string, string> }

/**
 * Decodes a non-interlaced palette PNG (any filter, depth 1/2/4/8) into color indices. Returns an
 * error message as data for anything else (another color type, a broken file).
 */
export const decodePalettePng = (bytes: Uint8Array): { ok: true; png: DecodedPng } | { ok: false; error: string } => {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) return { ok: false, error: 'not a PNG file' }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let width = 0
  let height = 0
  let depth = 0
  let palette: string[] = []
  const text: Record<string, string> = {}
  const idat: Uint8Array[] = []
  const td = new TextDecoder('latin1')
  let at = 8
  let ended = false
  while (at + 12 <= bytes.length && !ended) {
    const len = view.getUint32(at)
    const type = td.decode(bytes.subarray(at + 4, at + 8))
    if (at + 12 + len > bytes.length) return { ok: false, error: `truncated ${type} chunk` }
    const data = bytes.subarray(at + 8, at + 8 + len)
    if (crc32([bytes.subarray(at + 4, at + 8), data]) !== view.getUint32(at + 8 + len)) return { ok: false, error: `bad CRC in ${type}` }
    if (type === 'IHDR') {
      const d = new DataView(data.buffer, data.byteOffset, data.byteLength)
      width = d.getUint32(0)
      height = d.getUint32(4)
      depth = data[8] as number
      if (data[9] !== COLOR_TYPE_PALETTE) return { ok: false, error: `color type ${data[9]} is not a palette PNG` }
      if (data[12] !== 0) return { ok: false, error: 'interlaced PNGs are not supported' }
      if (![1, 2, 4, 8].includes(depth)) return { ok: false, error: `bit depth ${depth}` }
    } else if (type === 'PLTE') {
      palette = []
      for (let i = 0; i + 2 < data.length; i += 3) {
        palette.push(`#${[data[i], data[i + 1], data[i + 2]].map((v) => (v as number).toString(16).padStart(2, '0')).join('')}`)
      }
    } else if (type === 'tEXt') {
      const nul = data.indexOf(0)
      if (nul > 0) text[td.decode(data.subarray(0, nul))] = td.decode(data.subarray(nul + 1))
    } else if (type === 'IDAT') idat.push(data)
    else if (type === 'IEND') ended = true
    at += 12 + len
  }
  if (!ended) return { ok: false, error: 'no IEND chunk (truncated file)' }
  if (width === 0 || height === 0 || palette.length === 0) return { ok: false, error: 'missing IHDR or PLTE' }
  let raw: Uint8Array
  try {
    raw = inflateSync(concat(idat))
  } catch (err) {
    return { ok: false, error: `bad image data: ${(err as Error).message}` }
  }
  const bitmap = unfilterPaletteRows(raw, width, height, depth)
  if (!(bitmap instanceof Uint8Array)) return { ok: false, ...bitmap }
  return { ok: true, png: { bitmap, width, height, palette, text } }
}

/** A rectangle of tiles: top-left x, y, and w, h in tiles. */
export type Region = { x: number; y: number; w: number; h: number }

/** Copies a region out of a bitmap. The region must lie inside it. */
export const cropBitmap = (bitmap: Uint8Array, width: number, region: Region): Uint8Array => {
  const out = new Uint8Array(region.w * region.h)
  for (let y = 0; y < region.h; y++) {
    const from = (region.y + y) * width + region.x
    out.set(bitmap.subarray(from, from + region.w), y * region.w)
  }
  return out
}

/** Scales a bitmap up by an integer factor (nearest neighbour: each tile becomes factor x factor pixels). */
export const scaleBitmap = (bitmap: Uint8Array, width: number, height: number, factor: number): Uint8Array => {
  if (factor === 1) return bitmap
  const w = width * factor
  const out = new Uint8Array(w * height * factor)
  const line = new Uint8Array(w)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) line.fill(bitmap[y * width + x] as number, x * factor, (x + 1) * factor)
    for (let k = 0; k < factor; k++) out.set(line, (y * factor + k) * w)
  }
  return out
}

/**
 * An animated PNG (APNG) encoder that takes one frame at a time (so a long timelapse never holds
 * every decoded frame): every frame full-size, one palette, each frame replacing the last.
 * Viewers without APNG support show the first frame.
 */
export const createApngEncoder = (
  width: number,
  height: number,
  palette: readonly string[],
  frameCount: number,
  opts: { level?: number; loops?: number } = {},
) => {
  if (frameCount < 1) throw new Error('apng: no frames')
  const depth = bitDepthFor(palette.length)
  const actl = new Uint8Array(8)
  new DataView(actl.buffer).setUint32(0, frameCount)
  new DataView(actl.buffer).setUint32(4, opts.loops ?? 0)
  const parts: Uint8Array[] = [SIGNATURE, chunk('IHDR', ihdr(width, height, depth)), chunk('PLTE', plte(palette)), chunk('acTL', actl)]
  let seq = 0
  let frames = 0
  return {
    /** Adds a frame (width * height color indices) shown for `delayMs`. */
    addFrame: (bitmap: Uint8Array, delayMs: number): void => {
      if (frames >= frameCount) throw new Error(`apng: more than the ${frameCount} frames announced`)
      if (bitmap.length !== width * height) throw new Error('apng: frame of the wrong size')
      const fctl = new Uint8Array(26)
      const v = new DataView(fctl.buffer)
      v.setUint32(0, seq++)
      v.setUint32(4, width)
      v.setUint32(8, height)
      // x, y offsets 0; delay as a fraction: delayMs / 1000 s; dispose_op 0, blend_op 0 (source).
      v.setUint16(20, Math.min(65535, Math.max(0, Math.round(delayMs))))
      v.setUint16(22, 1000)
      parts.push(chunk('fcTL', fctl))
      const data = deflateSync(packRows(bitmap, width, height, depth), { level: opts.level ?? 6 })
      if (frames === 0) parts.push(chunk('IDAT', data))
      else {
        const fdat = new Uint8Array(4 + data.length)
        new DataView(fdat.buffer).setUint32(0, seq++)
        fdat.set(data, 4)
        parts.push(chunk('fdAT', fdat))
      }
      frames++
    },
    /** The file; every announced frame must have been added. */
    finish: (): Uint8Array => {
      if (frames !== frameCount) throw new Error(`apng: ${frames} of ${frameCount} frames added`)
      return concat([...parts, chunk('IEND', new Uint8Array(0))])
    },
  }
}
