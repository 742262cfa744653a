/**
 * The coordinates of the tile under the pointer (a mouse or pen hovering, or a finger dragging),
 * in a small pill over the stage; hidden when the pointer leaves the stage or the board.
 */
import type { BoardView } from '../render/board-view.ts'
import { tileAt } from '../render/viewport.ts'

export const attachHoverReadout = (stage: HTMLElement, view: BoardView, pill: HTMLElement): void => {
  pill.hidden = true
  const show = (e: PointerEvent) => {
    const r = stage.getBoundingClientRect()
    const tile = tileAt(view.viewport(), view.stageSize(), view.boardSize(), { x: e.clientX - r.left, y: e.clientY - r.top })
    pill.hidden = tile === null
    if (tile) pill.textContent = `${tile.x}, ${tile.y}`
  }
  stage.addEventListener('pointermove', show)
  stage.addEventListener('pointerdown', show)
  stage.addEventListener('pointerleave', () => {
    pill.hidden = true
  })
}
