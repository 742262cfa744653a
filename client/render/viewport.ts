/**
 * Viewport math: where the board sits on the screen. Pure, no DOM.
 *
 * Units: board coordinates are in tiles (fractional: tile (3, 4) covers [3, 4) x [4, 5));
 * screen coordinates are CSS pixels relative to the stage's top-left corner; `scale` is CSS
 * pixels per tile. The viewport stores the board point shown at the stage's centre rather than
 * an offset, so that a resize (phone rotation, window drag) keeps the same place in view.
 */

/** What the stage shows: the board point (tiles) at its centre and the zoom (CSS px per tile). */
export type Viewport = { cx: number; cy: number; scale: number }

/** Size of the stage in CSS pixels. */
export type StageSize = { width: number; height: number }

/** Size of the board in tiles. */
export type BoardSize = { width: number; height: number }

/** A point; units depend on the function (tiles or CSS px). */
export type Point = { x: number; y: number }

/** Allowed zoom range, CSS px per tile. */
export type ScaleLimits = { min: number; max: number }

/** Largest zoom: one tile as large as a fingertip target on a phone. */
export const MAX_SCALE = 64

/** Fraction of the stage the board fills when it is fitted (the rest is breathing room). */
const FIT_FILL = 0.92

/** The zoom at which the whole board fits the stage (CSS px per tile). */
export const fitScale = (board: BoardSize, stage: StageSize): number =>
  (Math.min(stage.width / board.width, stage.height / board.height) || 1) * FIT_FILL

/**
 * Zoom limits for a board on a stage: down to half the fit zoom (never above 1 px per tile, so a
 * small board may still be seen small), up to MAX_SCALE (never below the fit zoom, so a huge
 * board on a small stage can still be zoomed in).
 */
export const scaleLimits = (board: BoardSize, stage: StageSize): ScaleLimits => {
  const fit = fitScale(board, stage)
  return { min: Math.min(fit / 2, 1), max: Math.max(MAX_SCALE, fit) }
}

const clampNumber = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v))

/**
 * Keeps a viewport usable: its zoom within the limits, and its centre over the board, so the
 * board can never be panned entirely out of sight.
 */
export const clampViewport = (v: Viewport, board: BoardSize, limits: ScaleLimits): Viewport => ({
  cx: clampNumber(v.cx, 0, board.width),
  cy: clampNumber(v.cy, 0, board.height),
  scale: clampNumber(v.scale, limits.min, limits.max),
})

/** The whole board, centred. */
export const fitViewport = (board: BoardSize, stage: StageSize): Viewport => ({
  cx: board.width / 2,
  cy: board.height / 2,
  scale: fitScale(board, stage),
})

/** Screen point (CSS px) of a board point (tiles). */
export const boardToScreen = (v: Viewport, stage: StageSize, p: Point): Point => ({
  x: (p.x - v.cx) * v.scale + stage.width / 2,
  y: (p.y - v.cy) * v.scale + stage.height / 2,
})

/** Board point (tiles, fractional) under a screen point (CSS px). */
export const screenToBoard = (v: Viewport, stage: StageSize, p: Point): Point => ({
  x: (p.x - stage.width / 2) / v.scale + v.cx,
  y: (p.y - stage.height / 2) / v.scale + v.cy,
})

/** The tile under a screen point, or null if the point is off the board. */
export const tileAt = (v: Viewport, stage: StageSize, board: BoardSize, p: Point): Point | null => {
  const b = screenToBoard(v, stage, p)
  const x = Math.floor(b.x)
  const y = Math.floor(b.y)
  return x >= 0 && y >= 0 && x < board.width && y < board.height ? { x, y } : null
}

/** Moves the view by a screen delta (CSS px), as a drag does: the board follows the pointer. */
export const panBy = (v: Viewport, dx: number, dy: number): Viewport => ({
  cx: v.cx - dx / v.scale,
  cy: v.cy - dy / v.scale,
  scale: v.scale,
})

/**
 * Multiplies the zoom by `factor`, clamped to the limits, keeping the board point under the
 * screen point `at` (CSS px) where it is, as a wheel or a pinch does.
 */
export const zoomAt = (v: Viewport, stage: StageSize, factor: number, at: Point, limits: ScaleLimits): Viewport => {
  const anchor = screenToBoard(v, stage, at)
  const scale = clampNumber(v.scale * factor, limits.min, limits.max)
  return {
    cx: anchor.x - (at.x - stage.width / 2) / scale,
    cy: anchor.y - (at.y - stage.height / 2) / scale,
    scale,
  }
}

/**
 * A two-finger gesture from fingers at `from` to fingers at `to` (CSS px): zooms by the change of
 * their distance and keeps the board point under their midpoint under the new midpoint, so the
 * board sticks to the fingers (zoom and pan in one move).
 */
export const pinch = (
  v: Viewport,
  stage: StageSize,
  from: readonly [Point, Point],
  to: readonly [Point, Point],
  limits: ScaleLimits,
): Viewport => {
  const d0 = Math.hypot(from[1].x - from[0].x, from[1].y - from[0].y)
  const d1 = Math.hypot(to[1].x - to[0].x, to[1].y - to[0].y)
  const m0 = { x: (from[0].x + from[1].x) / 2, y: (from[0].y + from[1].y) / 2 }
  const m1 = { x: (to[0].x + to[1].x) / 2, y: (to[0].y + to[1].y) / 2 }
  // Fingers that start on the same spot give no distance to compare: pan only.
  const factor = d0 > 0 && d1 > 0 ? d1 / d0 : 1
  const anchor = screenToBoard(v, stage, m0)
  const scale = clampNumber(v.scale * factor, limits.min, limits.max)
  return {
    cx: anchor.x - (m1.x - stage.width / 2) / scale,
    cy: anchor.y - (m1.y - stage.height / 2) / scale,
    scale,
  }
}

/**
 * Wheel delta to a zoom factor. `deltaY` in pixels (lines and pages already converted by the
 * caller); trackpad pinches arrive as wheel events with ctrlKey and small deltas, so they get a
 * steeper curve. Exponential, so that zooming in then out by the same delta returns to the start.
 */
export const wheelZoomFactor = (deltaY: number, pinchGesture: boolean): number => Math.exp(-deltaY * (pinchGesture ? 0.01 : 0.0015))

/** Centres the view on a tile (its middle), keeping the zoom. */
export const centerOnTile = (v: Viewport, tile: Point): Viewport => ({ cx: tile.x + 0.5, cy: tile.y + 0.5, scale: v.scale })

/**
 * Pans as little as needed for a tile to lie inside the stage with `margin` CSS px to spare
 * (for a keyboard-moved selection); the zoom is kept.
 */
export const ensureTileVisible = (v: Viewport, stage: StageSize, tile: Point, margin: number): Viewport => {
  const topLeft = boardToScreen(v, stage, tile)
  const size = v.scale
  let dx = 0
  let dy = 0
  // Stages smaller than twice the margin plus one tile cannot honour the margin: centre instead.
  const m = Math.min(margin, Math.max(0, (stage.width - size) / 2), Math.max(0, (stage.height - size) / 2))
  if (topLeft.x < m) dx = m - topLeft.x
  else if (topLeft.x + size > stage.width - m) dx = stage.width - m - (topLeft.x + size)
  if (topLeft.y < m) dy = m - topLeft.y
  else if (topLeft.y + size > stage.height - m) dy = stage.height - m - (topLeft.y + size)
  return dx === 0 && dy === 0 ? v : panBy(v, dx, dy)
}

/**
 * The CSS transform that draws a board canvas (one canvas pixel per tile, transform-origin at
 * its top-left) for this viewport: translate by (tx, ty) CSS px, then scale. The translation is
 * rounded to device pixels so that tile edges stay on pixel boundaries (crisp, no shimmer).
 */
export const canvasTransform = (v: Viewport, stage: StageSize, devicePixelRatio: number): { tx: number; ty: number; scale: number } => {
  const dpr = devicePixelRatio > 0 ? devicePixelRatio : 1
  const origin = boardToScreen(v, stage, { x: 0, y: 0 })
  return { tx: Math.round(origin.x * dpr) / dpr, ty: Math.round(origin.y * dpr) / dpr, scale: v.scale }
}

/** Whether two viewports are equal (to skip redundant style writes). */
export const sameViewport = (a: Viewport, b: Viewport): boolean => a.cx === b.cx && a.cy === b.cy && a.scale === b.scale
