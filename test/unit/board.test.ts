import { describe, expect, it } from 'vitest'
import {
  checkBoardChange,
  DEFAULT_BOARD,
  isInsideBoard,
  localIndex,
  parseBoardConfig,
  parseShardKey,
  shardKey,
  shardOf,
} from '../../shared/board.ts'
import { PLACE_2017_PALETTE, parsePalette } from '../../shared/palette.ts'

describe('board config', () => {
  it('defaults to r/place 2017', () => {
    const r = parseBoardConfig({ id: 'main' })
    expect(r).toEqual({ ok: true, board: DEFAULT_BOARD })
    expect(DEFAULT_BOARD.width).toBe(1000)
    expect(DEFAULT_BOARD.palette).toHaveLength(16)
    expect(DEFAULT_BOARD.palette[0]).toBe('#ffffff')
    expect(DEFAULT_BOARD.cooldownMs).toBe(300_000)
  })

  it('accepts large boards and rejects bad fields with a message naming them', () => {
    expect(parseBoardConfig({ id: 'big', width: 4096, height: 4096 }).ok).toBe(true)
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ id: 'Bad Id' }, /id/],
      [{ id: 'a', width: 0 }, /width/],
      [{ id: 'a', height: 8193 }, /height/],
      [{ id: 'a', width: 1.5 }, /width/],
      [{ id: 'a', shardSize: 48 }, /shardSize/],
      [{ id: 'a', cooldownMs: -1 }, /cooldownMs/],
      [{ id: 'a', palette: ['#fff'] }, /palette/],
      [{ id: 'a', palette: Array.from({ length: 33 }, (_, i) => `#0000${i.toString(16).padStart(2, '0')}`) }, /palette/],
      [{ id: 'a', palette: ['#000000', '#000000'] }, /distinct/],
      [{ id: 'a', locked: 'yes' }, /locked/],
      [{ id: 'a', colour: 1 }, /unknown board field/],
    ]
    for (const [input, message] of cases) {
      const r = parseBoardConfig(input)
      expect(r.ok, JSON.stringify(input)).toBe(false)
      if (!r.ok) expect(r.error).toMatch(message)
    }
    expect(parseBoardConfig(null).ok).toBe(false)
    expect(parseBoardConfig([]).ok).toBe(false)
  })

  it('normalises palette colours to lower case', () => {
    expect(parsePalette(['#FFFFFF', '#000000'])).toEqual({ ok: true, palette: ['#ffffff', '#000000'] })
    expect(parsePalette([...PLACE_2017_PALETTE]).ok).toBe(true)
  })

  it('allows growth and appended colours only', () => {
    const b = DEFAULT_BOARD
    expect(checkBoardChange(b, { ...b, width: 2000, cooldownMs: 1 })).toBeNull()
    expect(checkBoardChange(b, { ...b, palette: [...b.palette, '#123456'] })).toBeNull()
    expect(checkBoardChange(b, { ...b, width: 999 })).toMatch(/grow/)
    expect(checkBoardChange(b, { ...b, palette: b.palette.slice(1) })).toMatch(/palette/)
    expect(checkBoardChange(b, { ...b, palette: [...b.palette].reverse() })).toMatch(/palette/)
    expect(checkBoardChange(b, { ...b, shardSize: 32 })).toMatch(/shardSize/)
  })
})

describe('geometry', () => {
  it('checks bounds strictly', () => {
    const b = { width: 10, height: 5 }
    expect(isInsideBoard(b, 0, 0)).toBe(true)
    expect(isInsideBoard(b, 9, 4)).toBe(true)
    expect(isInsideBoard(b, 10, 0)).toBe(false)
    expect(isInsideBoard(b, 0, 5)).toBe(false)
    expect(isInsideBoard(b, -1, 0)).toBe(false)
    expect(isInsideBoard(b, 1.5, 0)).toBe(false)
    expect(isInsideBoard(b, '1', 0)).toBe(false)
    expect(isInsideBoard(b, Number.NaN, 0)).toBe(false)
  })

  it('maps tiles to shards and back', () => {
    expect(shardOf(64, 130, 63)).toEqual({ sx: 2, sy: 0 })
    expect(shardKey(2, 0)).toBe('2,0')
    expect(parseShardKey('2,0')).toEqual({ sx: 2, sy: 0 })
    expect(parseShardKey('x')).toBeNull()
    expect(localIndex(64, 130, 65)).toBe(1 * 64 + 2)
  })
})
