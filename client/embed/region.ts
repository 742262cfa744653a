/**
 * The region="x,y,w,h" of an embed (docs/EMBEDDING.md): the rectangle of the board it shows and
 * lets people place in. Pure. The view is given a board of the region's size (its bitmap a
 * crop of the board's), so that panning, zooming and fitting stop at the region's edges, and
 * region coordinates are the board's minus the region's corner.
 */
import type { Rect } from '../../shared/placement.ts'
import type { Damage } from '../sync/board-state.ts'

/** Region text as the attribute gives it, or null when absent or unreadable (the whole board). */
export const parseRegion = (text: string | null): Rect | null => {
  if (text === null) return null
  const parts = text.split(',').map((p) => p.trim())
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,5}$/.test(p))) return null
  const [x, y, w, h] = parts.map(Number) as [number, number, number, number]
  return w > 0 && h > 0 ? { x, y, w, h } : null
}

/** The part of `region` inside a width x height board (the whole board when null or outside it). */
export const clampRegion = (region: Rect | null, width: number, height: number): Rect => {
  if (!region) return { x: 0, y: 0, w: width, h: height }
  const x = Math.min(region.x, width - 1)
  const y = Math.min(region.y, height - 1)
  const w = Math.min(region.w, width - x)
  const h = Math.min(region.h, height - y)
  return w > 0 && h > 0 && region.x < width && region.y < height ? { x, y, w, h } : { x: 0, y: 0, w: width, h: height }
}

/** Whether board tile (x, y) is inside the region. */
export const inRegion = (r: Rect, x: number, y: number): boolean => x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h

/** Copies rectangle `part` (board tiles, inside `r`) of the board's bitmap into the region's. */
export const copyIntoRegion = (board: Uint8Array, boardWidth: number, r: Rect, region: Uint8Array, part: Rect): void => {
  for (let y = part.y; y < part.y + part.h; y++) {
    const from = y * boardWidth + part.x
    region.set(board.subarray(from, from + part.w), (y - r.y) * r.w + (part.x - r.x))
  }
}

/** The intersection of two rectangles, or null. */
const intersect = (a: Rect, b: Rect): Rect | null => {
  const x = Math.max(a.x, b.x)
  const y = Math.max(a.y, b.y)
  const w = Math.min(a.x + a.w, b.x + b.w) - x
  const h = Math.min(a.y + a.h, b.y + b.h) - y
  return w > 0 && h > 0 ? { x, y, w, h } : null
}

/**
 * Board damage as the region sees it: the damaged rectangles inside it (board coordinates, to
 * copy) and the same in region coordinates (to repaint). Null when nothing inside changed.
 */
export const regionDamage = (d: Damage, r: Rect): { board: Rect[]; view: Damage } | null => {
  if (d.full) return { board: [r], view: { full: true } }
  const inside = d.rects.map((x) => intersect(x, r)).filter((x): x is Rect => x !== null)
  if (inside.length === 0) return null
  return { board: inside, view: { full: false, rects: inside.map((x) => ({ x: x.x - r.x, y: x.y - r.y, w: x.w, h: x.h })) } }
}
