/**
 * PNG encoders for board snapshots: encode time (median of 5) and file size, for realistic
 * boards (large flat areas with noise) and random noise, at 1000x1000, 2000x2000 and 4000x4000, 16
 * colors.
 * Each encoder starts from what the snapshotter holds (one color index a tile) and ends with PNG
 * bytes, so index->RGBA conversion or bit packing counts where an encoder needs it. Every output
 * is decoded once and compared with the board ("exact").
 *
 *   npx tsx bench/png-encoders.ts [--quick]     (--quick: 1000x1000 only)
 */
import { createRequire } from 'node:module'
import { encode as fastPngEncode } from 'fast-png'
import { PNG } from 'pngjs'
import { colorToRgb, PLACE_2017_PALETTE } from '../shared/palette.ts'
import { decodePalettePng, encodePalettePng } from '../snapshotter/render-png.ts'

/** upng-js ships no types; this is the one function used. */
type Upng = {
  encode: (bufs: ArrayBuffer[], w: number, h: number, colors: number) => ArrayBuffer
  decode: (b: ArrayBuffer) => unknown
  toRGBA8: (img: unknown) => ArrayBuffer[]
}
const UPNG = createRequire(import.meta.url)('upng-js') as Upng

const palette = [...PLACE_2017_PALETTE]
const rgbOf = palette.map(colorToRgb)

export type BenchRow = {
  encoder: string
  side: number
  kind: 'realistic' | 'noise'
  board: string
  ms: number
  bytes: number
  exact: boolean
}

/** mulberry32 */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Large flat areas (rectangles and bands of one color, as drawings on a place board) plus 3% noise. */
const realisticBoard = (side: number): Uint8Array => {
  const rand = prng(side)
  const b = new Uint8Array(side * side)
  const areas = Math.round((side * side) / 4000)
  for (let i = 0; i < areas; i++) {
    const w = 4 + Math.floor(rand() * side * 0.08)
    const h = 4 + Math.floor(rand() * side * 0.08)
    const x0 = Math.floor(rand() * (side - w))
    const y0 = Math.floor(rand() * (side - h))
    const c = Math.floor(rand() * 16)
    for (let y = y0; y < y0 + h; y++) b.fill(c, y * side + x0, y * side + x0 + w)
  }
  for (let i = 0; i < side * side * 0.03; i++) b[Math.floor(rand() * side * side)] = Math.floor(rand() * 16)
  return b
}

const noiseBoard = (side: number): Uint8Array => {
  const rand = prng(side + 1)
  const b = new Uint8Array(side * side)
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 16)
  return b
}

const toRgba = (bitmap: Uint8Array): Uint8Array => {
  const out = new Uint8Array(bitmap.length * 4)
  for (let i = 0; i < bitmap.length; i++) {
    const [r, g, b] = rgbOf[bitmap[i] as number] as [number, number, number]
    out[i * 4] = r
    out[i * 4 + 1] = g
    out[i * 4 + 2] = b
    out[i * 4 + 3] = 255
  }
  return out
}

const pack4 = (bitmap: Uint8Array, side: number): Uint8Array => {
  const rowBytes = Math.ceil(side / 2)
  const out = new Uint8Array(rowBytes * side)
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x += 2) {
      out[y * rowBytes + x / 2] = ((bitmap[y * side + x] as number) << 4) | (x + 1 < side ? (bitmap[y * side + x + 1] as number) : 0)
    }
  }
  return out
}

type Encoder = { name: string; encode: (bitmap: Uint8Array, side: number) => Uint8Array }

/** The snapshotter's encoder at its default level (snapshotter/config.ts SNAPSHOT_PNG_LEVEL). */
export const DEFAULT_ENCODER = 'hand-written + zlib L6 (4-bit palette)'

const ENCODERS: Encoder[] = [
  { name: DEFAULT_ENCODER, encode: (b, s) => encodePalettePng(b, s, s, palette, { level: 6 }) },
  { name: 'hand-written + zlib L1 (4-bit palette)', encode: (b, s) => encodePalettePng(b, s, s, palette, { level: 1 }) },
  { name: 'hand-written + zlib L9 (4-bit palette)', encode: (b, s) => encodePalettePng(b, s, s, palette, { level: 9 }) },
  {
    name: 'fast-png 8 (4-bit palette)',
    encode: (b, s) => fastPngEncode({ width: s, height: s, data: pack4(b, s), depth: 4, channels: 1, palette: rgbOf }),
  },
  {
    name: 'pngjs 7 (RGB, no palette mode)',
    encode: (b, s) => {
      const png = new PNG({ width: s, height: s, colorType: 2, inputHasAlpha: true })
      png.data = Buffer.from(toRgba(b).buffer)
      return PNG.sync.write(png, { colorType: 2, inputHasAlpha: true })
    },
  },
  { name: 'upng-js 2 (lossless)', encode: (b, s) => new Uint8Array(UPNG.encode([toRgba(b).buffer as ArrayBuffer], s, s, 0)) },
]

/** Whether a PNG shows exactly the board's colors at every pixel (palette order may differ). */
const isExact = (png: Uint8Array, bitmap: Uint8Array): boolean => {
  const ours = decodePalettePng(png)
  if (ours.ok) {
    const { bitmap: got, palette: theirs } = ours.png
    if (got.length !== bitmap.length) return false
    for (let i = 0; i < got.length; i++) if (theirs[got[i] as number] !== palette[bitmap[i] as number]) return false
    return true
  }
  const rgba = PNG.sync.read(Buffer.from(png)).data
  return Buffer.from(toRgba(bitmap)).equals(rgba)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

/** Runs the measurements; `quick` keeps to 1000x1000. Returns one row per encoder and board. */
export const runPngBench = (opts: { quick: boolean }, log: (line: string) => void = () => {}): BenchRow[] => {
  const sides = opts.quick ? [1000] : [1000, 2000, 4000]
  const rows: BenchRow[] = []
  for (const side of sides) {
    for (const [kind, make] of [
      ['realistic', realisticBoard],
      ['noise', noiseBoard],
    ] as const) {
      const bitmap = make(side)
      const board = `${side}x${side} ${kind}`
      for (const enc of ENCODERS) {
        // zlib level 9 on 4000x4000 noise takes seconds a run: 3 runs there, 5 elsewhere.
        const runs = side >= 4000 && enc.name.includes('L9') ? 3 : 5
        enc.encode(bitmap, side) // warm-up (JIT, zlib tables)
        const times: number[] = []
        let out: Uint8Array = new Uint8Array(0)
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now()
          out = enc.encode(bitmap, side)
          times.push(performance.now() - t0)
        }
        const row = { encoder: enc.name, side, kind, board, ms: median(times), bytes: out.length, exact: isExact(out, bitmap) }
        rows.push(row)
        log(formatRow(row))
      }
    }
  }
  return rows
}

const formatRow = (r: BenchRow) =>
  `| ${r.encoder.padEnd(40)} | ${r.board.padEnd(20)} | ${r.ms.toFixed(1).padStart(8)} | ${r.bytes.toLocaleString('en').padStart(11)} | ${r.exact ? 'yes' : 'NO '} |`

/** Markdown table of the rows. */
export const formatPngBench = (rows: readonly BenchRow[]): string =>
  [
    `| ${'encoder'.padEnd(40)} | ${'board'.padEnd(20)} | ${'ms (med)'.padStart(8)} | ${'bytes'.padStart(11)} | exact |`,
    `|${'-'.repeat(42)}|${'-'.repeat(22)}|${'-'.repeat(10)}|${'-'.repeat(13)}|-------|`,
    ...rows.map(formatRow),
  ].join('\n')

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  console.error(`png encoders (${quick ? 'quick: 1000x1000 only' : '1000x1000 and 4000x4000'}), node ${process.version}`)
  const rows = runPngBench({ quick }, (line) => console.error(line))
  console.log(formatPngBench(rows))
}
