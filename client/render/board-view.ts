/**
 * The board on screen: one canvas with one pixel per tile, scaled by a CSS transform with
 * image-rendering: pixelated (crisp at every zoom, and panning or zooming never repaints pixels),
 * plus two overlays in screen space: the selection reticle and the pending-placement ghost.
 *
 * Pixels are written into an ImageData and flushed once per animation frame, only over the
 * rectangle that changed since the last frame.
 */
import type { BoardConfig } from '../../shared/board.ts'
import type { Rect } from '../../shared/placement.ts'
import type { Damage } from '../sync/board-state.ts'
import { paintRect, paletteLut, unionRects } from './paint.ts'
import {
  type BoardSize,
  canvasTransform,
  clampViewport,
  fitViewport,
  type Point,
  type StageSize,
  sameViewport,
  scaleLimits,
  type Viewport,
} from './viewport.ts'

/** The intent drawn over the board while it is in flight or queued (offline), and how it ended. */
export type Ghost = { x: number; y: number; color: number; state: 'pending' | 'queued' | 'rejected' | 'lost' }

export type BoardView = {
  /** The board canvas (1 px per tile). */
  canvas: HTMLCanvasElement
  stageSize: () => StageSize
  boardSize: () => BoardSize
  viewport: () => Viewport
  /** Sets the viewport, clamped to the board and the zoom limits. */
  setViewport: (v: Viewport) => void
  /** The whole board, centred. */
  fit: () => void
  /** New board config or bitmap (grown board, appended palette): repaints everything. */
  setBoard: (config: BoardConfig, bitmap: Uint8Array) => void
  /** Repaints what changed on the bitmap, at the next animation frame. */
  damage: (damage: Damage, bitmap: Uint8Array) => void
  setSelection: (tile: Point | null) => void
  setGhost: (ghost: Ghost | null) => void
  /** Re-reads the stage size (after a resize) and re-applies the viewport. */
  relayout: () => void
  /** Called after every viewport change (for the coordinates read-out). */
  onViewport: (listener: (v: Viewport) => void) => void
}

/**
 * `bitmap` null: nothing to show yet (a first visit while its snapshot is fetched). The canvas is
 * sized but not painted until setBoard or damage: a full paint of a blank 1000 x 1000 board costs
 * a first visit about 20 ms of its main thread just while the snapshot's bytes arrive, and the
 * board preview covers the canvas meanwhile (docs/PERFORMANCE.md).
 */
export const createBoardView = (stage: HTMLElement, config: BoardConfig, bitmap: Uint8Array | null): BoardView => {
  const canvas = document.createElement('canvas')
  canvas.className = 'board'
  canvas.setAttribute('aria-label', 'Board')
  const ctx = canvas.getContext('2d', { alpha: false })
  if (!ctx) throw new Error('this browser cannot draw on a canvas')
  const reticle = document.createElement('div')
  reticle.className = 'reticle'
  reticle.hidden = true
  const ghost = document.createElement('div')
  ghost.className = 'ghost'
  ghost.hidden = true
  // The board's edge and shadow live on a screen-space element: a box-shadow on the canvas
  // itself would be scaled with it (a 40 px shadow at 30x zoom covers the screen).
  const frame = document.createElement('div')
  frame.className = 'board-frame'
  stage.append(frame, canvas, ghost, reticle)

  let board = config
  let bits = bitmap ?? new Uint8Array(config.width * config.height)
  let lut = paletteLut(board.palette)
  // Sized now, so that takeBoard below keeps this ImageData (4 MB at 1000 x 1000) rather than
  // allocating a second one for a canvas of the default 300 x 150.
  canvas.width = board.width
  canvas.height = board.height
  let image = new ImageData(board.width, board.height)
  let stage0: StageSize = { width: stage.clientWidth, height: stage.clientHeight }
  let view = fitViewport(board, stage0)
  let selection: Point | null = null
  let ghostState: Ghost | null = null
  let pendingRects: Rect[] = []
  let pendingFull = false
  let rafId = 0
  const viewportListeners: ((v: Viewport) => void)[] = []

  const flush = () => {
    rafId = 0
    if (pendingFull) {
      paintRect(image.data, bits, board.width, lut, { x: 0, y: 0, w: board.width, h: board.height })
      ctx.putImageData(image, 0, 0)
    } else {
      const r = unionRects(pendingRects)
      if (r) {
        for (const d of pendingRects) paintRect(image.data, bits, board.width, lut, d)
        // putImageData's dirty rectangle: only r is copied to the canvas.
        ctx.putImageData(image, 0, 0, r.x, r.y, r.w, r.h)
      }
    }
    pendingFull = false
    pendingRects = []
  }
  const schedule = () => {
    if (!rafId) rafId = requestAnimationFrame(flush)
  }

  const place = (el: HTMLElement, tile: Point | null, t: { tx: number; ty: number; scale: number }) => {
    if (!tile) {
      el.hidden = true
      return
    }
    el.hidden = false
    // Below 8 CSS px a tile-sized outline is unreadable: keep the marker 8 px, centred on the tile.
    const size = Math.max(8, t.scale)
    const left = t.tx + tile.x * t.scale + (t.scale - size) / 2
    const top = t.ty + tile.y * t.scale + (t.scale - size) / 2
    el.style.transform = `translate(${left}px, ${top}px)`
    el.style.width = `${size}px`
    el.style.height = `${size}px`
  }

  const apply = () => {
    const t = canvasTransform(view, stage0, window.devicePixelRatio)
    canvas.style.transform = `translate(${t.tx}px, ${t.ty}px) scale(${t.scale})`
    frame.style.transform = `translate(${t.tx}px, ${t.ty}px)`
    frame.style.width = `${board.width * t.scale}px`
    frame.style.height = `${board.height * t.scale}px`
    place(reticle, selection, t)
    place(ghost, ghostState, t)
    for (const l of viewportListeners) l(view)
  }

  const setViewport = (v: Viewport) => {
    const next = clampViewport(v, board, scaleLimits(board, stage0))
    if (sameViewport(next, view)) return
    view = next
    apply()
  }

  /** Takes a board; with `paint`, paints all of it at the next frame (else at the next setBoard or damage). */
  const takeBoard = (config: BoardConfig, bitmap: Uint8Array, paint: boolean) => {
    const resized = config.width !== board.width || config.height !== board.height
    board = config
    bits = bitmap
    lut = paletteLut(board.palette)
    if (resized || canvas.width !== board.width || canvas.height !== board.height) {
      canvas.width = board.width
      canvas.height = board.height
      image = new ImageData(board.width, board.height)
    }
    pendingFull = true
    if (paint) schedule()
    view = clampViewport(view, board, scaleLimits(board, stage0))
    apply()
  }
  const setBoard = (config: BoardConfig, bitmap: Uint8Array) => takeBoard(config, bitmap, true)
  takeBoard(board, bits, bitmap !== null)

  return {
    canvas,
    stageSize: () => stage0,
    boardSize: () => ({ width: board.width, height: board.height }),
    viewport: () => view,
    setViewport,
    fit: () => setViewport(fitViewport(board, stage0)),
    setBoard,
    damage: (d, bitmap) => {
      bits = bitmap
      if (d.full) pendingFull = true
      // Not push(...rects): a big Tiles frame or sync answer would pass more arguments than a call takes.
      else for (const r of d.rects) pendingRects.push(r)
      schedule()
    },
    setSelection: (tile) => {
      selection = tile
      apply()
    },
    setGhost: (g) => {
      ghostState = g
      if (g) {
        ghost.dataset.state = g.state
        ghost.style.background = board.palette[g.color] ?? 'transparent'
      }
      apply()
    },
    relayout: () => {
      const next = { width: stage.clientWidth, height: stage.clientHeight }
      if (next.width === stage0.width && next.height === stage0.height) return
      // A stage that had no size yet (laid out after creation) gets a fitted view, not a clamped one.
      const wasEmpty = stage0.width === 0 || stage0.height === 0
      stage0 = next
      view = wasEmpty ? fitViewport(board, stage0) : clampViewport(view, board, scaleLimits(board, stage0))
      apply()
    },
    onViewport: (listener) => {
      viewportListeners.push(listener)
    },
  }
}
