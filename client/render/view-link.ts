/**
 * Deep links and the remembered view: `#x=<x>&y=<y>&zoom=<z>` names the tile at the stage's
 * centre (tiles, integers) and the zoom (CSS px per tile), so that a shared address opens on the
 * same place at the same zoom. Pure, no DOM: the wiring is in client/ui/view-memory.ts.
 *
 * A link names a tile, not the fractional board point the viewport holds: the centre of that
 * tile is shown, so a link written and read back moves the view by at most half a tile.
 */
import type { Viewport } from './viewport.ts'

/** The hash parameters: x and y in tiles, zoom in CSS px per tile. */
export const LINK_PARAMS = { x: 'x', y: 'y', zoom: 'zoom' } as const

/**
 * Reads a location hash ("#x=12&y=40&zoom=8", with or without the "#") into a viewport, or
 * null when it names no place. x and y are both needed; a missing or unusable zoom is null (the
 * caller keeps its own). Values are not clamped here: the board view clamps to the board.
 */
export const parseViewLink = (hash: string): { cx: number; cy: number; scale: number | null } | null => {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash)
  const x = finite(params.get(LINK_PARAMS.x))
  const y = finite(params.get(LINK_PARAMS.y))
  if (x === null || y === null) return null
  const zoom = finite(params.get(LINK_PARAMS.zoom))
  // The centre of the named tile (a fractional x is taken as the tile that holds it).
  return { cx: Math.floor(x) + 0.5, cy: Math.floor(y) + 0.5, scale: zoom !== null && zoom > 0 ? zoom : null }
}

/**
 * The hash for a viewport: the tile under the stage centre and the zoom rounded to two decimals
 * (three significant digits below 1 px per tile), short enough to share.
 */
export const formatViewLink = (v: Viewport): string => {
  const zoom = v.scale >= 1 ? Math.round(v.scale * 100) / 100 : Number(v.scale.toPrecision(3))
  return `#${LINK_PARAMS.x}=${Math.floor(v.cx)}&${LINK_PARAMS.y}=${Math.floor(v.cy)}&${LINK_PARAMS.zoom}=${zoom}`
}

/** localStorage key of the view remembered for a board. */
export const viewStorageKey = (boardId: string): string => `tessera.view.${boardId}`

/** A remembered view (as JSON in localStorage) read back, or null if absent or unreadable. */
export const parseStoredView = (json: string | null): Viewport | null => {
  if (json === null) return null
  try {
    const v = JSON.parse(json) as Record<string, unknown>
    const cx = v.cx
    const cy = v.cy
    const scale = v.scale
    if (typeof cx !== 'number' || typeof cy !== 'number' || typeof scale !== 'number') return null
    if (!Number.isFinite(cx) || !Number.isFinite(cy) || !Number.isFinite(scale) || scale <= 0) return null
    return { cx, cy, scale }
  } catch {
    return null
  }
}

const finite = (s: string | null): number | null => {
  if (s === null || s.trim() === '') return null
  const n = Number(s)
  return Number.isFinite(n) ? n : null
}
