/** The palette PNG writer/reader, cross-checked with independent decoders (pngjs, fast-png). */
import { convertIndexedToRgb, decodeApng, decode as fastPngDecode, encode as fastPngEncode } from 'fast-png'
import { PNG } from 'pngjs'
import { describe, expect, it } from 'vitest'
import { colorToRgb, PLACE_2017_PALETTE } from '../../shared/palette.ts'
import {
  bitDepthFor,
  createApngEncoder,
  cropBitmap,
  decodePalettePng,
  encodePalettePng,
  scaleBitmap,
} from '../../snapshotter/render-png.ts'

const paletteOf = (n: number) => Array.from({ length: n }, (_, i) => `#${((i * 0x3b7f1d) & 0xffffff).toString(16).padStart(6, '0')}`)

const randomBitmap = (w: number, h: number, colors: number, seed: number) => {
  const b = new Uint8Array(w * h)
  let s = seed
  for (let i = 0; i < b.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0
    b[i] = (s >>> 16) % colors
  }
  return b
}

describe('palette PNG', () => {
  it('picks the smallest bit depth', () => {
    expect([2, 3, 4, 5, 16, 17, 32, 256].map(bitDepthFor)).toEqual([1, 2, 2, 4, 4, 8, 8, 8])
  })

  for (const colors of [2, 4, 16, 32]) {
    it(`round-trips ${colors} colors at odd sizes, and pngjs reads the same pixels`, () => {
      for (const [w, h] of [
        [1, 1],
        [7, 3],
        [33, 17],
        [100, 61],
      ] as const) {
        const palette = paletteOf(colors)
        const bitmap = randomBitmap(w, h, colors, w * 31 + h)
        const png = encodePalettePng(bitmap, w, h, palette, { text: { Tessera: '{"version":3}' } })
        const back = decodePalettePng(png)
        if (!back.ok) throw new Error(back.error)
        expect(back.png.width).toBe(w)
        expect(back.png.height).toBe(h)
        expect(back.png.palette).toEqual(palette)
        expect(back.png.text.Tessera).toBe('{"version":3}')
        expect(Buffer.from(back.png.bitmap).equals(Buffer.from(bitmap))).toBe(true)
        // An independent decoder sees the palette colors at every pixel.
        const rgba = PNG.sync.read(Buffer.from(png)).data
        const expected = Buffer.alloc(w * h * 4)
        for (let i = 0; i < w * h; i++) expected.set([...colorToRgb(palette[bitmap[i] as number] as string), 255], i * 4)
        expect(rgba.equals(expected)).toBe(true)
      }
    })
  }

  it('reads palette PNGs written by another encoder (fast-png, with filters)', () => {
    const palette = [...PLACE_2017_PALETTE]
    const bitmap = randomBitmap(50, 40, 16, 5)
    // fast-png wants 4-bit indices packed two to a byte, MSB first.
    const packed = new Uint8Array(25 * 40)
    for (let y = 0; y < 40; y++)
      for (let x = 0; x < 50; x += 2) packed[y * 25 + x / 2] = ((bitmap[y * 50 + x] as number) << 4) | (bitmap[y * 50 + x + 1] as number)
    const png = fastPngEncode({ width: 50, height: 40, data: packed, depth: 4, channels: 1, palette: palette.map(colorToRgb) })
    const back = decodePalettePng(png)
    if (!back.ok) throw new Error(back.error)
    expect(Buffer.from(back.png.bitmap).equals(Buffer.from(bitmap))).toBe(true)
    // And fast-png reads ours.
    const theirs = fastPngDecode(encodePalettePng(bitmap, 50, 40, palette))
    const rgb = convertIndexedToRgb(theirs)
    expect([...rgb.subarray(0, 3)]).toEqual(colorToRgb(palette[bitmap[0] as number] as string))
  })

  it('reports broken files as data', () => {
    const png = encodePalettePng(new Uint8Array(100), 10, 10, ['#000000', '#ffffff'])
    expect(decodePalettePng(png.subarray(0, png.length - 20))).toMatchObject({ ok: false })
    const flipped = png.slice()
    flipped[40] = (flipped[40] as number) ^ 0xff
    expect(decodePalettePng(flipped)).toMatchObject({ ok: false })
    expect(decodePalettePng(new Uint8Array([1, 2, 3]))).toEqual({ ok: false, error: 'not a PNG file' })
    const rgba = PNG.sync.write(Object.assign(new PNG({ width: 2, height: 2 }), { data: Buffer.alloc(16) }))
    expect(decodePalettePng(rgba)).toMatchObject({ ok: false, error: expect.stringMatching(/color type/) })
  })

  it('crops and scales', () => {
    const b = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]) // 3x3
    expect([...cropBitmap(b, 3, { x: 1, y: 1, w: 2, h: 2 })]).toEqual([4, 5, 7, 8])
    expect([...scaleBitmap(Uint8Array.from([1, 2]), 2, 1, 2)]).toEqual([1, 1, 2, 2, 1, 1, 2, 2])
  })

  it('writes an animated PNG that fast-png decodes frame by frame', () => {
    const palette = [...PLACE_2017_PALETTE]
    const frames = [0, 1, 2].map((i) => randomBitmap(12, 9, 16, i + 1))
    const enc = createApngEncoder(12, 9, palette, 3)
    for (const f of frames) enc.addFrame(f, 100)
    const apng = enc.finish()
    const decoded = decodeApng(apng)
    expect(decoded.numberOfFrames).toBe(3)
    expect(decoded.frames).toHaveLength(3)
    // Viewers without APNG support (and our reader) see the first frame.
    const first = decodePalettePng(apng)
    if (!first.ok) throw new Error(first.error)
    expect(Buffer.from(first.png.bitmap).equals(Buffer.from(frames[0] as Uint8Array))).toBe(true)
  })
})
