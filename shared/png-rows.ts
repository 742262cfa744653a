/**
 * The last step of reading a palette PNG (PNG spec 9: filters; 7.2: scanlines): undoes each
 * row's filter and unpacks its indices, one byte a pixel. Shared by the snapshotter's reader
 * (snapshotter/render-png.ts) and the browser's (client/sync/png-indices.ts), which differ only
 * in how they find the chunks and inflate the image data. Pure.
 */

const paeth = (a: number, b: number, c: number): number => {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

/**
 * The indices (row-major, width * height bytes) held by `raw`, the inflated image data of a
 * non-interlaced palette PNG of bit depth `depth` (1, 2, 4 or 8); or why it cannot be read.
 */
export const unfilterPaletteRows = (raw: Uint8Array, width: number, height: number, depth: number): Uint8Array | { error: string } => {
  // Each row: a filter byte, then ceil(width * depth / 8) bytes; bpp is 1 byte at every palette
  // depth (bytes per complete pixel, rounded up).
  const rowBytes = Math.ceil((width * depth) / 8)
  if (raw.length < height * (rowBytes + 1)) return { error: 'image data too short' }
  const bitmap = new Uint8Array(width * height)
  let prev = new Uint8Array(rowBytes)
  let row = new Uint8Array(rowBytes)
  const perByte = 8 / depth
  const mask = (1 << depth) - 1
  for (let y = 0; y < height; y++) {
    const start = y * (rowBytes + 1)
    const filter = raw[start] as number
    if (filter > 4) return { error: `unknown filter ${filter} in row ${y}` }
    const line = raw.subarray(start + 1, start + 1 + rowBytes)
    if (filter === 0) row.set(line)
    else {
      for (let i = 0; i < rowBytes; i++) {
        const a = i > 0 ? (row[i - 1] as number) : 0
        const b = prev[i] as number
        const v = line[i] as number
        row[i] =
          filter === 1
            ? v + a
            : filter === 2
              ? v + b
              : filter === 3
                ? v + ((a + b) >> 1)
                : v + paeth(a, b, i > 0 ? (prev[i - 1] as number) : 0)
      }
    }
    const out = y * width
    if (depth === 8) bitmap.set(row.subarray(0, width), out)
    else {
      for (let x = 0; x < width; x++) {
        bitmap[out + x] = ((row[(x / perByte) | 0] as number) >> (8 - depth * ((x % perByte) + 1))) & mask
      }
    }
    const swap = prev
    prev = row
    row = swap
  }
  return bitmap
}
