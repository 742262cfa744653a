/**
 * Mouse, pen and touch on the stage: drag to pan, wheel or two fingers to zoom, a click or tap
 * (a press that did not move) to select a tile. Pointer Events unify the three; the stage has
 * touch-action: none so that the browser does not scroll or zoom the page instead.
 */
import type { BoardView } from '../render/board-view.ts'
import { type Point, panBy, pinch, scaleLimits, wheelZoomFactor, zoomAt } from '../render/viewport.ts'

/**
 * Movement (CSS px) below which a press still counts as a tap: fingers wobble more than mice,
 * and a tap that pans the board by 3 px by mistake is worse than one that does not pan.
 */
const TAP_SLOP = { mouse: 4, touch: 10 } as const

/** CSS px per wheel "line" (deltaMode 1) and "page" (deltaMode 2), as browsers roughly scroll. */
const LINE_PX = 16
const PAGE_PX = 800

export type GestureHandlers = {
  /** A tap or click at a stage point (CSS px). */
  onTap: (at: Point) => void
}

/** Attaches the gestures; returns a function that detaches them. */
export const attachGestures = (stage: HTMLElement, view: BoardView, handlers: GestureHandlers): (() => void) => {
  /** Where each pointer is now (stage CSS px). */
  const pointers = new Map<number, Point>()
  /** Where the press began and whether it became a pan; reset when all pointers are up. */
  let press: { start: Point; pointerType: string; moved: boolean; multi: boolean } | null = null

  const local = (e: PointerEvent | WheelEvent): Point => {
    const r = stage.getBoundingClientRect()
    return { x: e.clientX - r.left, y: e.clientY - r.top }
  }
  const limits = () => scaleLimits(view.boardSize(), view.stageSize())

  const down = (e: PointerEvent) => {
    // Only the main button selects and pans with a mouse; the context menu stays usable.
    if (e.pointerType === 'mouse' && e.button !== 0) return
    stage.setPointerCapture(e.pointerId)
    const p = local(e)
    pointers.set(e.pointerId, p)
    if (!press) press = { start: p, pointerType: e.pointerType, moved: false, multi: false }
    if (pointers.size > 1) press.multi = true
  }

  const move = (e: PointerEvent) => {
    const prev = pointers.get(e.pointerId)
    if (!prev || !press) return
    const p = local(e)
    if (pointers.size === 1) {
      const slop = press.pointerType === 'mouse' ? TAP_SLOP.mouse : TAP_SLOP.touch
      if (!press.moved && Math.hypot(p.x - press.start.x, p.y - press.start.y) < slop) return
      // The first move past the slop pans from where the press began, so nothing is lost.
      const from = press.moved ? prev : press.start
      press.moved = true
      pointers.set(e.pointerId, p)
      view.setViewport(panBy(view.viewport(), p.x - from.x, p.y - from.y))
      return
    }
    const [a, b] = [...pointers.entries()]
    if (!a || !b) return
    // Pinch from the two fingers' previous spots to their new ones (only one moved this event).
    const other = a[0] === e.pointerId ? b : a
    pointers.set(e.pointerId, p)
    view.setViewport(pinch(view.viewport(), view.stageSize(), [prev, other[1]], [p, other[1]], limits()))
  }

  const up = (e: PointerEvent) => {
    if (!pointers.delete(e.pointerId) || !press) return
    const tap = e.type === 'pointerup' && !press.moved && !press.multi
    if (pointers.size === 0) {
      const at = press.start
      press = null
      if (tap) handlers.onTap(at)
    }
  }

  const wheel = (e: WheelEvent) => {
    e.preventDefault()
    const unit = e.deltaMode === 1 ? LINE_PX : e.deltaMode === 2 ? PAGE_PX : 1
    // Trackpad pinches arrive as wheel events with ctrlKey set (Chrome, Firefox, Safari).
    const factor = wheelZoomFactor(e.deltaY * unit, e.ctrlKey)
    view.setViewport(zoomAt(view.viewport(), view.stageSize(), factor, local(e), limits()))
  }

  stage.addEventListener('pointerdown', down)
  stage.addEventListener('pointermove', move)
  stage.addEventListener('pointerup', up)
  stage.addEventListener('pointercancel', up)
  stage.addEventListener('wheel', wheel, { passive: false })
  return () => {
    stage.removeEventListener('pointerdown', down)
    stage.removeEventListener('pointermove', move)
    stage.removeEventListener('pointerup', up)
    stage.removeEventListener('pointercancel', up)
    stage.removeEventListener('wheel', wheel)
  }
}
