/**
 * Tile grid lines over the board at high zoom. One screen-space element covering only the part
 * of the board inside the stage (never a board-sized element: a 1000-tile board at 64 px per tile
 * is 64 000 px wide), its lines drawn by two repeating CSS gradients one tile apart, aligned with
 * the canvas as drawn (the same device-pixel-rounded translation).
 */
import { type BoardSize, canvasTransform, type StageSize, type Viewport } from './viewport.ts'

/** Smallest zoom (CSS px per tile) at which the grid shows: below it the lines would hide the tiles. */
export const GRID_MIN_SCALE = 8

/**
 * Where the grid element goes (CSS px, stage coordinates) and where its first line falls inside
 * it, or null when the grid does not show (zoom below GRID_MIN_SCALE, or no board in view).
 */
export const gridGeometry = (
  v: Viewport,
  stage: StageSize,
  board: BoardSize,
  devicePixelRatio: number,
): { left: number; top: number; width: number; height: number; size: number; offsetX: number; offsetY: number } | null => {
  if (v.scale < GRID_MIN_SCALE) return null
  const t = canvasTransform(v, stage, devicePixelRatio)
  const left = Math.max(0, t.tx)
  const top = Math.max(0, t.ty)
  const right = Math.min(stage.width, t.tx + board.width * t.scale)
  const bottom = Math.min(stage.height, t.ty + board.height * t.scale)
  if (right <= left || bottom <= top) return null
  // The background's origin is the element's corner: shift it so lines fall on tile edges.
  const mod = (a: number, n: number) => ((a % n) + n) % n
  return {
    left,
    top,
    width: right - left,
    height: bottom - top,
    size: t.scale,
    offsetX: mod(t.tx - left, t.scale),
    offsetY: mod(t.ty - top, t.scale),
  }
}

export type GridOverlay = {
  /** Redraws for the view (call on every viewport change). */
  update: (v: Viewport, stage: StageSize, board: BoardSize) => void
  setEnabled: (on: boolean) => void
  enabled: () => boolean
}

/** The grid element, inserted right after the board canvas (under the reticle and the ghost). */
export const createGridOverlay = (canvas: HTMLCanvasElement): GridOverlay => {
  const el = document.createElement('div')
  el.className = 'grid'
  el.hidden = true
  canvas.after(el)
  let on = false
  let last: { v: Viewport; stage: StageSize; board: BoardSize } | null = null
  const draw = () => {
    const g = on && last ? gridGeometry(last.v, last.stage, last.board, window.devicePixelRatio) : null
    el.hidden = g === null
    if (!g) return
    el.style.transform = `translate(${g.left}px, ${g.top}px)`
    el.style.width = `${g.width}px`
    el.style.height = `${g.height}px`
    el.style.backgroundSize = `${g.size}px ${g.size}px`
    el.style.backgroundPosition = `${g.offsetX}px ${g.offsetY}px`
  }
  return {
    update: (v, stage, board) => {
      last = { v, stage, board }
      draw()
    },
    setEnabled: (next) => {
      on = next
      draw()
    },
    enabled: () => on,
  }
}
