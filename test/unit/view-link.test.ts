import { describe, expect, it } from 'vitest'
import { MIN_SELECT_SCALE, TAP_ZOOM_SCALE, tapAction, viewForKeyboardSelection } from '../../client/input/tap-zoom.ts'
import { formatViewLink, parseStoredView, parseViewLink, viewStorageKey } from '../../client/render/view-link.ts'
import { boardToScreen, fitViewport, scaleLimits, screenToBoard, tileAt } from '../../client/render/viewport.ts'

describe('view links', () => {
  it('reads the tile and zoom of a hash, with or without the #', () => {
    expect(parseViewLink('#x=12&y=40&zoom=8')).toEqual({ cx: 12.5, cy: 40.5, scale: 8 })
    expect(parseViewLink('x=12&y=40&zoom=0.5')).toEqual({ cx: 12.5, cy: 40.5, scale: 0.5 })
    // Order does not matter; a fractional coordinate names the tile that holds it.
    expect(parseViewLink('#zoom=3&y=2.9&x=7.2')).toEqual({ cx: 7.5, cy: 2.5, scale: 3 })
  })

  it('keeps the current zoom when the link has none or an unusable one', () => {
    expect(parseViewLink('#x=1&y=2')).toEqual({ cx: 1.5, cy: 2.5, scale: null })
    expect(parseViewLink('#x=1&y=2&zoom=0')).toEqual({ cx: 1.5, cy: 2.5, scale: null })
    expect(parseViewLink('#x=1&y=2&zoom=-3')).toEqual({ cx: 1.5, cy: 2.5, scale: null })
    expect(parseViewLink('#x=1&y=2&zoom=big')).toEqual({ cx: 1.5, cy: 2.5, scale: null })
  })

  it('names no place without both coordinates', () => {
    expect(parseViewLink('')).toBeNull()
    expect(parseViewLink('#')).toBeNull()
    expect(parseViewLink('#x=1')).toBeNull()
    expect(parseViewLink('#x=&y=2')).toBeNull()
    expect(parseViewLink('#x=abc&y=2')).toBeNull()
    expect(parseViewLink('#x=Infinity&y=2')).toBeNull()
    expect(parseViewLink('#section-2')).toBeNull()
  })

  it('writes the tile under the centre and a short zoom, and reads back the same tile', () => {
    expect(formatViewLink({ cx: 12.7, cy: 40.1, scale: 8 })).toBe('#x=12&y=40&zoom=8')
    expect(formatViewLink({ cx: 500, cy: 500, scale: 12.3456 })).toBe('#x=500&y=500&zoom=12.35')
    expect(formatViewLink({ cx: 500, cy: 500, scale: 0.5520001 })).toBe('#x=500&y=500&zoom=0.552')
    const v = { cx: 123.9, cy: 7.01, scale: 5.5 }
    const back = parseViewLink(formatViewLink(v))
    expect(back).toEqual({ cx: 123.5, cy: 7.5, scale: 5.5 })
    // At most half a tile away from where the view was.
    expect(Math.abs((back?.cx as number) - v.cx)).toBeLessThanOrEqual(0.5)
    expect(Math.abs((back?.cy as number) - v.cy)).toBeLessThanOrEqual(0.5)
  })

  it('remembers a view per board as JSON, and ignores what it cannot read', () => {
    expect(viewStorageKey('main')).toBe('tessera.view.main')
    expect(viewStorageKey('main')).not.toBe(viewStorageKey('other'))
    expect(parseStoredView(JSON.stringify({ cx: 1.25, cy: 2, scale: 3 }))).toEqual({ cx: 1.25, cy: 2, scale: 3 })
    expect(parseStoredView(null)).toBeNull()
    expect(parseStoredView('not json')).toBeNull()
    expect(parseStoredView('null')).toBeNull()
    expect(parseStoredView(JSON.stringify({ cx: 1, cy: 2 }))).toBeNull()
    expect(parseStoredView(JSON.stringify({ cx: 1, cy: 2, scale: 0 }))).toBeNull()
    expect(parseStoredView(JSON.stringify({ cx: '1', cy: 2, scale: 3 }))).toBeNull()
  })
})

describe('tap zoom', () => {
  const board = { width: 1000, height: 1000 }
  const phone = { width: 390, height: 600 }
  const limits = scaleLimits(board, phone)

  it('zooms in towards the tapped point on a board too small to aim at', () => {
    const fitted = fitViewport(board, phone)
    expect(fitted.scale).toBeLessThan(MIN_SELECT_SCALE)
    const at = { x: 100, y: 250 }
    const action = tapAction(fitted, phone, board, at, limits)
    if (action.kind !== 'zoom') throw new Error('expected a zoom')
    expect(action.viewport.scale).toBeCloseTo(TAP_ZOOM_SCALE, 9)
    // The board point under the finger stays under it.
    const before = screenToBoard(fitted, phone, at)
    const after = screenToBoard(action.viewport, phone, at)
    expect(after.x).toBeCloseTo(before.x, 9)
    expect(after.y).toBeCloseTo(before.y, 9)
    // A second tap there selects the tile that was aimed at.
    const again = tapAction(action.viewport, phone, board, at, limits)
    expect(again).toEqual({ kind: 'select', tile: tileAt(fitted, phone, board, at) })
  })

  it('selects from MIN_SELECT_SCALE up, and clears off the board at any zoom', () => {
    const v = { cx: 500, cy: 500, scale: MIN_SELECT_SCALE }
    const at = boardToScreen(v, phone, { x: 510.5, y: 490.5 })
    expect(tapAction(v, phone, board, at, limits)).toEqual({ kind: 'select', tile: { x: 510, y: 490 } })
    const fitted = fitViewport(board, phone)
    expect(tapAction(fitted, phone, board, { x: 2, y: 2 }, limits)).toEqual({ kind: 'select', tile: null })
  })

  it('zooms no further than the limits allow', () => {
    const tiny = { width: 390, height: 600 }
    const v = { cx: 500, cy: 500, scale: 1 }
    const action = tapAction(v, tiny, board, { x: 195, y: 300 }, { min: 0.1, max: 8 })
    expect(action.kind === 'zoom' && action.viewport.scale).toBeCloseTo(8, 9)
  })

  it('centres a keyboard selection at a zoom where it shows, else pans as little as needed', () => {
    const fitted = fitViewport(board, phone)
    expect(viewForKeyboardSelection(fitted, phone, { x: 10, y: 20 }, 48)).toEqual({ cx: 10.5, cy: 20.5, scale: TAP_ZOOM_SCALE })
    const near = { cx: 500, cy: 500, scale: 10 }
    expect(viewForKeyboardSelection(near, phone, { x: 501, y: 500 }, 48)).toBe(near)
  })
})
