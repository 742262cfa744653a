/** The embed's region (client/embed/region.ts): parsed, clamped, cropped, damage translated. */
import { describe, expect, it } from 'vitest'
import { clampRegion, copyIntoRegion, inRegion, parseRegion, regionDamage } from '../../client/embed/region.ts'

describe('region', () => {
  it('parses x,y,w,h and refuses anything else (the whole board then)', () => {
    expect(parseRegion('10, 20,30,40')).toEqual({ x: 10, y: 20, w: 30, h: 40 })
    for (const bad of [null, '', '1,2,3', '1,2,3,4,5', '-1,0,4,4', '0,0,0,4', '1.5,0,4,4', 'a,b,c,d']) expect(parseRegion(bad)).toBeNull()
  })

  it('clips a region to the board, and falls back to the whole board outside it', () => {
    expect(clampRegion({ x: 60, y: 0, w: 10, h: 4 }, 64, 64)).toEqual({ x: 60, y: 0, w: 4, h: 4 })
    expect(clampRegion({ x: 70, y: 0, w: 10, h: 4 }, 64, 64)).toEqual({ x: 0, y: 0, w: 64, h: 64 })
    expect(clampRegion(null, 8, 6)).toEqual({ x: 0, y: 0, w: 8, h: 6 })
    expect(inRegion({ x: 2, y: 2, w: 2, h: 2 }, 3, 3)).toBe(true)
    expect(inRegion({ x: 2, y: 2, w: 2, h: 2 }, 4, 3)).toBe(false)
  })

  it('copies the board into the region and translates damage, ignoring what is outside', () => {
    // A 4 x 3 board whose tile (x, y) holds 10 * y + x.
    const board = Uint8Array.from({ length: 12 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4))
    const r = { x: 1, y: 1, w: 2, h: 2 }
    const crop = new Uint8Array(4)
    copyIntoRegion(board, 4, r, crop, r)
    expect([...crop]).toEqual([11, 12, 21, 22])
    expect(regionDamage({ full: false, rects: [{ x: 0, y: 0, w: 1, h: 1 }] }, r)).toBeNull()
    expect(regionDamage({ full: false, rects: [{ x: 2, y: 0, w: 2, h: 2 }] }, r)).toEqual({
      board: [{ x: 2, y: 1, w: 1, h: 1 }],
      view: { full: false, rects: [{ x: 1, y: 0, w: 1, h: 1 }] },
    })
    expect(regionDamage({ full: true }, r)).toEqual({ board: [r], view: { full: true } })
  })
})
