/** The moderation page's area tool: the rectangle two dragged-over points span (pure). */
import { describe, expect, it } from 'vitest'
import { spanRect } from '../../client/admin/area-overlay.ts'

describe('spanRect', () => {
  const board = { width: 32, height: 16 }
  it('spans both tiles, inclusive, whichever way the drag went', () => {
    expect(spanRect({ x: 2.4, y: 3.9 }, { x: 5.1, y: 6.2 }, board)).toEqual({ x: 2, y: 3, w: 4, h: 4 })
    expect(spanRect({ x: 5.1, y: 6.2 }, { x: 2.4, y: 3.9 }, board)).toEqual({ x: 2, y: 3, w: 4, h: 4 })
    expect(spanRect({ x: 7.5, y: 7.5 }, { x: 7.5, y: 7.5 }, board)).toEqual({ x: 7, y: 7, w: 1, h: 1 })
  })
  it('clips a drag that leaves the board to its edges', () => {
    expect(spanRect({ x: -3, y: -1 }, { x: 40, y: 99 }, board)).toEqual({ x: 0, y: 0, w: 32, h: 16 })
  })
})
