/**
 * What the moderation page draws over the board, in screen space (one canvas the size of the
 * stage): protected rectangles (amber outlines), the selected area (dashed white), and a
 * rollback's preview (each tile it would change, in the colour it would get, outlined magenta).
 * While the area tool is on, a drag on the board selects a rectangle of tiles instead of panning.
 */
import type { Rect } from '../../shared/placement.ts'
import type { BoardView } from '../render/board-view.ts'
import { boardToScreen, type Point, screenToBoard } from '../render/viewport.ts'
import type { PreviewChange, Protection } from './admin-api.ts'

export type AreaOverlay = {
  /** Turns the area tool on or off (on: drags select, no panning). */
  setSelecting: (on: boolean) => void
  setArea: (rect: Rect | null) => void
  setProtections: (list: readonly Protection[]) => void
  /** The preview's changes and palette, or null to clear it. */
  setPreview: (changes: readonly PreviewChange[] | null, palette: readonly string[]) => void
  /** Redraws (after the board's config or the stage changed). */
  redraw: () => void
}

/** The rectangle spanned by two tiles (inclusive), clipped to the board. */
export const spanRect = (a: Point, b: Point, board: { width: number; height: number }): Rect => {
  const clip = (v: number, max: number) => Math.min(max - 1, Math.max(0, Math.floor(v)))
  const x0 = clip(Math.min(a.x, b.x), board.width)
  const y0 = clip(Math.min(a.y, b.y), board.height)
  const x1 = clip(Math.max(a.x, b.x), board.width)
  const y1 = clip(Math.max(a.y, b.y), board.height)
  return { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 }
}

export const createAreaOverlay = (stage: HTMLElement, view: BoardView, onSelect: (rect: Rect) => void): AreaOverlay => {
  const canvas = document.createElement('canvas')
  canvas.className = 'area-overlay'
  canvas.setAttribute('aria-hidden', 'true')
  stage.append(canvas)
  const ctx = canvas.getContext('2d')
  if (!ctx) throw new Error('this browser cannot draw on a canvas')
  let area: Rect | null = null
  let protections: readonly Protection[] = []
  let preview: readonly PreviewChange[] | null = null
  let palette: readonly string[] = []
  let drag: Point | null = null

  const redraw = () => {
    const { width, height } = view.stageSize()
    const dpr = window.devicePixelRatio || 1
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr)
      canvas.height = Math.round(height * dpr)
      canvas.style.width = `${width}px`
      canvas.style.height = `${height}px`
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    ctx.clearRect(0, 0, width, height)
    const v = view.viewport()
    const s = v.scale
    const at = (x: number, y: number) => boardToScreen(v, { width, height }, { x, y })
    const outline = (r: Rect, color: string, dash: number[]) => {
      const p = at(r.x, r.y)
      ctx.setLineDash(dash)
      ctx.lineWidth = 2
      ctx.strokeStyle = 'rgba(0, 0, 0, 0.8)'
      ctx.strokeRect(p.x - 1, p.y - 1, r.w * s + 2, r.h * s + 2)
      ctx.strokeStyle = color
      ctx.strokeRect(p.x, p.y, r.w * s, r.h * s)
    }
    for (const p of protections) outline(p, '#fbbf24', [])
    if (preview) {
      for (const c of preview) {
        const p = at(c.x, c.y)
        if (p.x + s < 0 || p.y + s < 0 || p.x > width || p.y > height) continue
        ctx.fillStyle = palette[c.color] ?? '#000000'
        ctx.fillRect(p.x, p.y, s, s)
        // Tiles below 4 px are marked by their colour alone: an outline would hide it.
        if (s >= 4) {
          ctx.setLineDash([])
          ctx.lineWidth = 1
          ctx.strokeStyle = '#ff2bd6'
          ctx.strokeRect(p.x + 0.5, p.y + 0.5, s - 1, s - 1)
        }
      }
    }
    if (area) outline(area, '#ffffff', [6, 4])
  }

  const local = (e: PointerEvent): Point => {
    const r = stage.getBoundingClientRect()
    return screenToBoard(view.viewport(), view.stageSize(), { x: e.clientX - r.left, y: e.clientY - r.top })
  }
  // Handled here and not passed on: the stage's gestures would pan.
  canvas.addEventListener('pointerdown', (e) => {
    e.stopPropagation()
    if (e.pointerType === 'mouse' && e.button !== 0) return
    canvas.setPointerCapture(e.pointerId)
    drag = local(e)
    area = spanRect(drag, drag, view.boardSize())
    redraw()
  })
  canvas.addEventListener('pointermove', (e) => {
    e.stopPropagation()
    if (!drag) return
    area = spanRect(drag, local(e), view.boardSize())
    redraw()
  })
  const end = (e: PointerEvent) => {
    e.stopPropagation()
    if (!drag) return
    area = spanRect(drag, local(e), view.boardSize())
    drag = null
    redraw()
    onSelect(area)
  }
  canvas.addEventListener('pointerup', end)
  canvas.addEventListener('pointercancel', end)
  view.onViewport(redraw)

  return {
    setSelecting: (on) => {
      canvas.classList.toggle('selecting', on)
    },
    setArea: (rect) => {
      area = rect
      redraw()
    },
    setProtections: (list) => {
      protections = list
      redraw()
    },
    setPreview: (changes, pal) => {
      preview = changes
      palette = pal
      redraw()
    },
    redraw,
  }
}
