/**
 * The minimap: the whole board drawn small in a corner of the stage, with the part in view
 * outlined; a click or a drag on it centres the view there. Shown only while zoomed in past the
 * whole board (client/render/minimap-geometry.ts says when). Its pixels are copied from the
 * board canvas (drawImage, scaled down) at most every REDRAW_EVERY_MS while the board changes.
 */
import type { BoardView } from '../render/board-view.ts'
import { minimapSize, minimapToBoard, minimapViewRect } from '../render/minimap-geometry.ts'

/** Milliseconds between two redraws of the minimap's pixels while the board changes. */
const REDRAW_EVERY_MS = 500

export type Minimap = {
  /** The board's pixels changed (or its size): redraw soon. */
  damaged: () => void
}

export const createMinimap = (container: HTMLElement, view: BoardView): Minimap => {
  const canvas = document.createElement('canvas')
  canvas.className = 'minimap-board'
  const rect = document.createElement('div')
  rect.className = 'minimap-view'
  container.replaceChildren(canvas, rect)
  container.setAttribute('aria-hidden', 'true')
  const ctx = canvas.getContext('2d')
  let scale = 1
  let redraw: ReturnType<typeof setTimeout> | null = null

  const schedule = () => {
    if (!redraw && !container.hidden) redraw = setTimeout(drawPixels, REDRAW_EVERY_MS)
  }
  const drawPixels = () => {
    redraw = null
    if (!ctx || container.hidden) return
    const size = minimapSize(view.boardSize())
    scale = size.scale
    if (canvas.width !== size.width || canvas.height !== size.height) {
      canvas.width = size.width
      canvas.height = size.height
    }
    // Smoothing averages the tiles a minimap pixel covers, which reads better than picking one.
    ctx.imageSmoothingEnabled = true
    ctx.drawImage(view.canvas, 0, 0, size.width, size.height)
  }
  const layout = () => {
    const size = minimapSize(view.boardSize())
    const r = minimapViewRect(view.viewport(), view.stageSize(), view.boardSize(), size.scale)
    const wasHidden = container.hidden
    container.hidden = r === null
    if (!r) return
    if (wasHidden || size.scale !== scale) {
      drawPixels()
      // The board canvas may not be painted yet (a board just loaded is flushed at the next
      // animation frame): draw again once it is.
      schedule()
    }
    rect.style.transform = `translate(${r.x}px, ${r.y}px)`
    rect.style.width = `${r.w}px`
    rect.style.height = `${r.h}px`
  }
  const jump = (e: PointerEvent) => {
    const b = canvas.getBoundingClientRect()
    const p = minimapToBoard({ x: e.clientX - b.left, y: e.clientY - b.top }, scale)
    view.setViewport({ cx: p.x, cy: p.y, scale: view.viewport().scale })
  }
  let dragging = false
  container.addEventListener('pointerdown', (e) => {
    // Not a pan or a tap of the stage beneath.
    e.stopPropagation()
    container.setPointerCapture(e.pointerId)
    dragging = true
    jump(e)
  })
  container.addEventListener('pointermove', (e) => {
    if (dragging) jump(e)
  })
  const stop = () => {
    dragging = false
  }
  container.addEventListener('pointerup', stop)
  container.addEventListener('pointercancel', stop)
  container.addEventListener('wheel', (e) => e.stopPropagation())

  view.onViewport(layout)
  layout()
  return {
    damaged: schedule,
  }
}
