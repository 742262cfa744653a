/**
 * Geometry of the minimap: the whole board drawn small, with the view's rectangle on it. Pure.
 * Minimap coordinates are CSS px from the minimap's top-left corner.
 */
import { type BoardSize, type Point, type StageSize, screenToBoard, type Viewport } from './viewport.ts'

/** Longest side of the minimap (CSS px). */
export const MINIMAP_SIDE = 160

/** The minimap's size (CSS px) and its scale (CSS px per tile), the board's aspect kept. */
export const minimapSize = (board: BoardSize, side = MINIMAP_SIDE): { width: number; height: number; scale: number } => {
  const scale = side / Math.max(board.width, board.height)
  return { width: Math.max(1, Math.round(board.width * scale)), height: Math.max(1, Math.round(board.height * scale)), scale }
}

/**
 * The part of the board the stage shows, on the minimap (CSS px), clipped to the board; null
 * when the stage shows the whole board (then the minimap has nothing to add and is hidden).
 */
export const minimapViewRect = (
  v: Viewport,
  stage: StageSize,
  board: BoardSize,
  scale: number,
): { x: number; y: number; w: number; h: number } | null => {
  const a = screenToBoard(v, stage, { x: 0, y: 0 })
  const b = screenToBoard(v, stage, { x: stage.width, y: stage.height })
  const x0 = Math.max(0, a.x)
  const y0 = Math.max(0, a.y)
  const x1 = Math.min(board.width, b.x)
  const y1 = Math.min(board.height, b.y)
  if (x0 <= 0 && y0 <= 0 && x1 >= board.width && y1 >= board.height) return null
  return { x: x0 * scale, y: y0 * scale, w: Math.max(0, x1 - x0) * scale, h: Math.max(0, y1 - y0) * scale }
}

/** The board point (tiles) under a minimap point (CSS px), to centre the view on. */
export const minimapToBoard = (p: Point, scale: number): Point => ({ x: p.x / scale, y: p.y / scale })
