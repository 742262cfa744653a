import { describe, expect, it } from 'vitest'
import { GRID_MIN_SCALE, gridGeometry } from '../../client/render/grid-overlay.ts'
import { canvasTransform } from '../../client/render/viewport.ts'
import { boardLabel, selectionText } from '../../client/ui/board-description.ts'
import { alertDelay } from '../../client/ui/cooldown-alert.ts'
import { COLOR_NAMES, colorName, PLACE_2017_PALETTE } from '../../shared/palette.ts'

describe('grid geometry', () => {
  const board = { width: 100, height: 80 }
  const stage = { width: 800, height: 600 }

  it('shows nothing below GRID_MIN_SCALE', () => {
    expect(gridGeometry({ cx: 50, cy: 40, scale: GRID_MIN_SCALE - 0.01 }, stage, board, 1)).toBeNull()
    expect(gridGeometry({ cx: 50, cy: 40, scale: GRID_MIN_SCALE }, stage, board, 1)).not.toBeNull()
  })

  it('covers only the board inside the stage, with lines on tile edges', () => {
    const v = { cx: 50.3, cy: 40.7, scale: 10 }
    const g = gridGeometry(v, stage, board, 1)
    if (!g) throw new Error('no grid')
    // 100 tiles at 10 px are wider than the stage: the grid is clipped to it.
    expect(g).toMatchObject({ left: 0, top: 0, width: 800, height: 600, size: 10 })
    const t = canvasTransform(v, stage, 1)
    // A line at the element's origin + offset + k * size lies on a tile edge of the canvas.
    const edgeX = g.left + g.offsetX
    expect((((edgeX - t.tx) % 10) + 10) % 10).toBeCloseTo(0, 9)
    const edgeY = g.top + g.offsetY
    expect((((edgeY - t.ty) % 10) + 10) % 10).toBeCloseTo(0, 9)
    expect(g.offsetX).toBeGreaterThanOrEqual(0)
    expect(g.offsetX).toBeLessThan(10)
  })

  it('starts at the board corner when the board is smaller than the stage, and is null off the board', () => {
    const v = { cx: 10, cy: 5, scale: 8 }
    const g = gridGeometry(v, stage, { width: 20, height: 10 }, 1)
    const t = canvasTransform(v, stage, 1)
    expect(g).toEqual({ left: t.tx, top: t.ty, width: 20 * 8, height: 10 * 8, size: 8, offsetX: 0, offsetY: 0 })
    // The board panned entirely off the stage (the viewport centre far away).
    expect(gridGeometry({ cx: 500, cy: 40, scale: 8 }, stage, board, 1)).toBeNull()
  })
})

describe('colour names and the board description', () => {
  it('names every r/place colour, distinctly, and falls back to the hex', () => {
    for (const c of PLACE_2017_PALETTE) expect(COLOR_NAMES[c]).toBeTruthy()
    expect(new Set(PLACE_2017_PALETTE.map(colorName)).size).toBe(PLACE_2017_PALETTE.length)
    expect(colorName('#e50000')).toBe('red')
    expect(colorName('#E50000')).toBe('red')
    expect(colorName('#123456')).toBe('#123456')
  })

  it('says what the board and the selection are', () => {
    expect(boardLabel('main', 1000, 800)).toBe('Board main, 1000 by 800 tiles')
    expect(selectionText({ x: 12, y: 40, color: '#0083c7' })).toBe('Selected tile 12, 40: blue')
    expect(selectionText({ x: 0, y: 0, color: '#123456' })).toBe('Selected tile 0, 0: #123456')
    expect(selectionText(null)).toMatch(/^No tile selected/)
  })
})

describe('cooldown alert', () => {
  it('waits until the cooldown ends, and not at all without one', () => {
    expect(alertDelay(10_000, 4_000)).toBe(6_000)
    expect(alertDelay(4_000, 4_000)).toBeNull()
    expect(alertDelay(0, 4_000)).toBeNull()
  })
})
