import { describe, expect, it } from 'vitest'
import { MINIMAP_SIDE, minimapSize, minimapToBoard, minimapViewRect } from '../../client/render/minimap-geometry.ts'
import { fitViewport } from '../../client/render/viewport.ts'

describe('minimap geometry', () => {
  const board = { width: 1000, height: 500 }
  const stage = { width: 800, height: 600 }

  it('keeps the board aspect within MINIMAP_SIDE', () => {
    expect(minimapSize(board)).toEqual({ width: MINIMAP_SIDE, height: MINIMAP_SIDE / 2, scale: MINIMAP_SIDE / 1000 })
    expect(minimapSize({ width: 32, height: 64 }, 128)).toEqual({ width: 64, height: 128, scale: 2 })
  })

  it('is hidden while the whole board is in view, and outlines the view when zoomed in', () => {
    expect(minimapViewRect(fitViewport(board, stage), stage, board, 0.16)).toBeNull()
    // 10 px per tile: 80 x 60 tiles around (500, 250).
    const r = minimapViewRect({ cx: 500, cy: 250, scale: 10 }, stage, board, 0.16)
    expect(r?.x).toBeCloseTo(460 * 0.16, 9)
    expect(r?.y).toBeCloseTo(220 * 0.16, 9)
    expect(r?.w).toBeCloseTo(80 * 0.16, 9)
    expect(r?.h).toBeCloseTo(60 * 0.16, 9)
    // Near a corner the outline is clipped to the board.
    const corner = minimapViewRect({ cx: 10, cy: 10, scale: 10 }, stage, board, 1)
    expect(corner).toEqual({ x: 0, y: 0, w: 50, h: 40 })
  })

  it('maps a minimap point back to the board', () => {
    expect(minimapToBoard({ x: 80, y: 40 }, 0.16)).toEqual({ x: 500, y: 250 })
  })
})
