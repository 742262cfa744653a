import { describe, expect, it } from 'vitest'
import {
  boardToScreen,
  canvasTransform,
  centerOnTile,
  clampViewport,
  ensureTileVisible,
  fitScale,
  fitViewport,
  MAX_SCALE,
  panBy,
  pinch,
  scaleLimits,
  screenToBoard,
  tileAt,
  type Viewport,
  wheelZoomFactor,
  zoomAt,
} from '../../client/render/viewport.ts'

const board = { width: 1000, height: 1000 }
const stage = { width: 800, height: 600 }
const limits = scaleLimits(board, stage)

const close = (a: { x: number; y: number }, b: { x: number; y: number }) => {
  expect(a.x).toBeCloseTo(b.x, 9)
  expect(a.y).toBeCloseTo(b.y, 9)
}

describe('viewport', () => {
  it('fits the whole board, centred, with a margin', () => {
    const v = fitViewport(board, stage)
    expect(v.cx).toBe(500)
    expect(v.cy).toBe(500)
    // The limiting side is the height: 600 px for 1000 tiles, less the breathing room.
    expect(v.scale).toBeCloseTo(0.6 * 0.92, 9)
    const topLeft = boardToScreen(v, stage, { x: 0, y: 0 })
    const bottomRight = boardToScreen(v, stage, { x: 1000, y: 1000 })
    expect(topLeft.y).toBeGreaterThan(0)
    expect(bottomRight.y).toBeLessThan(600)
    expect((topLeft.x + bottomRight.x) / 2).toBeCloseTo(400, 9)
  })

  it('converts screen and board coordinates both ways', () => {
    const v: Viewport = { cx: 100.25, cy: 40, scale: 8 }
    // The stage centre shows the viewport's centre point.
    close(screenToBoard(v, stage, { x: 400, y: 300 }), { x: 100.25, y: 40 })
    for (const p of [
      { x: 0, y: 0 },
      { x: 13.5, y: 799 },
      { x: 799, y: 1 },
    ]) {
      close(boardToScreen(v, stage, screenToBoard(v, stage, p)), p)
    }
    // 8 px per tile: 16 px right of centre is two tiles further.
    close(screenToBoard(v, stage, { x: 416, y: 300 }), { x: 102.25, y: 40 })
  })

  it('finds the tile under a point, and none off the board', () => {
    const v: Viewport = { cx: 10, cy: 10, scale: 10 }
    // Screen centre is board (10, 10): the top-left corner of tile (10, 10).
    expect(tileAt(v, stage, board, { x: 400, y: 300 })).toEqual({ x: 10, y: 10 })
    expect(tileAt(v, stage, board, { x: 399.9, y: 299.9 })).toEqual({ x: 9, y: 9 })
    expect(tileAt(v, stage, board, { x: 409.9, y: 300 })).toEqual({ x: 10, y: 10 })
    expect(tileAt(v, stage, board, { x: 0, y: 0 })).toBeNull() // board x = -30
    const corner: Viewport = { cx: 1000, cy: 1000, scale: 10 }
    expect(tileAt(corner, stage, board, { x: 399, y: 299 })).toEqual({ x: 999, y: 999 })
    expect(tileAt(corner, stage, board, { x: 400, y: 300 })).toBeNull()
  })

  it('pans so that the board follows the pointer', () => {
    const v: Viewport = { cx: 500, cy: 500, scale: 4 }
    const grabbed = screenToBoard(v, stage, { x: 200, y: 100 })
    const moved = panBy(v, 40, -20)
    close(screenToBoard(moved, stage, { x: 240, y: 80 }), grabbed)
    expect(moved.scale).toBe(4)
  })

  it('zooms around a point, keeping the board point under it', () => {
    const v: Viewport = { cx: 500, cy: 500, scale: 2 }
    const at = { x: 123, y: 456 }
    const before = screenToBoard(v, stage, at)
    const zoomed = zoomAt(v, stage, 3, at, limits)
    expect(zoomed.scale).toBe(6)
    close(screenToBoard(zoomed, stage, at), before)
    // And back: zooming in then out by the same factor returns to the start.
    const back = zoomAt(zoomed, stage, 1 / 3, at, limits)
    expect(back.scale).toBeCloseTo(2, 9)
    close({ x: back.cx, y: back.cy }, { x: 500, y: 500 })
  })

  it('clamps the zoom to its limits, still around the point', () => {
    const v: Viewport = { cx: 500, cy: 500, scale: 32 }
    const at = { x: 700, y: 100 }
    const before = screenToBoard(v, stage, at)
    const zoomed = zoomAt(v, stage, 100, at, limits)
    expect(zoomed.scale).toBe(MAX_SCALE)
    close(screenToBoard(zoomed, stage, at), before)
    expect(zoomAt(v, stage, 1e-9, at, limits).scale).toBe(limits.min)
  })

  it('sets limits that allow seeing the whole board and zooming far in', () => {
    expect(limits.min).toBeLessThan(fitScale(board, stage))
    expect(limits.max).toBe(MAX_SCALE)
    // A tiny board on a big stage fits above MAX_SCALE: the maximum grows to the fit.
    const tiny = scaleLimits({ width: 4, height: 4 }, { width: 2000, height: 2000 })
    expect(tiny.max).toBeGreaterThanOrEqual(fitScale({ width: 4, height: 4 }, { width: 2000, height: 2000 }))
    expect(tiny.min).toBeLessThanOrEqual(1)
  })

  it('keeps the stage centre over the board and the zoom within limits', () => {
    expect(clampViewport({ cx: -50, cy: 2000, scale: 1000 }, board, limits)).toEqual({ cx: 0, cy: 1000, scale: MAX_SCALE })
    expect(clampViewport({ cx: 10, cy: 20, scale: 0.0001 }, board, limits)).toEqual({ cx: 10, cy: 20, scale: limits.min })
    const fine: Viewport = { cx: 1, cy: 999, scale: 3 }
    expect(clampViewport(fine, board, limits)).toEqual(fine)
  })

  it('pinches: zooms by the finger distance and sticks the board to the fingers', () => {
    const v: Viewport = { cx: 500, cy: 500, scale: 4 }
    const from = [
      { x: 300, y: 300 },
      { x: 400, y: 300 },
    ] as const
    const to = [
      { x: 250, y: 320 },
      { x: 450, y: 320 },
    ] as const
    const under = screenToBoard(v, stage, { x: 350, y: 300 })
    const next = pinch(v, stage, from, to, limits)
    expect(next.scale).toBeCloseTo(8, 9)
    close(screenToBoard(next, stage, { x: 350, y: 320 }), under)
    // Two fingers on one spot cannot be compared: no zoom, only the midpoint pan.
    const same = pinch(v, stage, [from[0], from[0]], [to[0], to[0]], limits)
    expect(same.scale).toBe(4)
  })

  it('maps wheel deltas to symmetric zoom factors', () => {
    expect(wheelZoomFactor(0, false)).toBe(1)
    expect(wheelZoomFactor(-100, false)).toBeGreaterThan(1)
    expect(wheelZoomFactor(100, false) * wheelZoomFactor(-100, false)).toBeCloseTo(1, 12)
    // A trackpad pinch's small deltas still zoom noticeably.
    expect(wheelZoomFactor(-10, true)).toBeGreaterThan(wheelZoomFactor(-10, false))
  })

  it('centres on a tile and pans minimally to show one', () => {
    const v: Viewport = { cx: 500, cy: 500, scale: 10 }
    expect(centerOnTile(v, { x: 7, y: 8 })).toEqual({ cx: 7.5, cy: 8.5, scale: 10 })
    // Already visible: unchanged (the same object).
    expect(ensureTileVisible(v, stage, { x: 500, y: 500 }, 20)).toBe(v)
    // Off to the right: after panning its right edge sits exactly at the margin.
    const shown = ensureTileVisible(v, stage, { x: 560, y: 500 }, 20)
    expect(boardToScreen(shown, stage, { x: 561, y: 500 }).x).toBeCloseTo(780, 9)
    expect(shown.cy).toBe(500)
    // Above and to the left.
    const shown2 = ensureTileVisible(v, stage, { x: 400, y: 400 }, 20)
    close(boardToScreen(shown2, stage, { x: 400, y: 400 }), { x: 20, y: 20 })
  })

  it('gives a canvas transform rounded to device pixels', () => {
    const v: Viewport = { cx: 10.3, cy: 0, scale: 3 }
    const t = canvasTransform(v, stage, 2)
    // Board x 0 is at 400 - 10.3 * 3 = 369.1 CSS px: 738.2 device px rounds to 738 = 369 CSS px.
    expect(t.tx).toBe(369)
    expect(t.ty).toBe(300)
    expect(t.scale).toBe(3)
    expect(canvasTransform(v, stage, 0).tx).toBe(369)
  })
})
