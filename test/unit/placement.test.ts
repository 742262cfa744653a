import { describe, expect, it } from 'vitest'
import { DEFAULT_BOARD } from '../../shared/board.ts'
import { cooldownRemaining, validatePlacement } from '../../shared/placement.ts'

const board = { ...DEFAULT_BOARD, cooldownMs: 1000 }
const ctx = { now: 10_000, lastPlacedAt: undefined }

describe('validatePlacement', () => {
  it('accepts a valid placement', () => {
    expect(validatePlacement(board, { x: 1, y: 2, color: 3 }, ctx)).toEqual({ ok: true, x: 1, y: 2, color: 3 })
  })

  it('rejects bad shapes, bounds and colours before anything else', () => {
    const cooling = { now: 10_000, lastPlacedAt: 9_999 }
    expect(validatePlacement(board, { x: '1', y: 2, color: 3 }, cooling)).toMatchObject({ ok: false, error: 'bad-request' })
    expect(validatePlacement(board, { x: 1.5, y: 2, color: 3 }, cooling)).toMatchObject({ ok: false, error: 'bad-request' })
    expect(validatePlacement(board, { x: 1, y: 2, color: null }, cooling)).toMatchObject({ ok: false, error: 'bad-request' })
    expect(validatePlacement(board, { x: 1000, y: 2, color: 3 }, cooling)).toMatchObject({ ok: false, error: 'out-of-bounds' })
    expect(validatePlacement(board, { x: -1, y: 2, color: 3 }, cooling)).toMatchObject({ ok: false, error: 'out-of-bounds' })
    expect(validatePlacement(board, { x: 1, y: 2, color: 16 }, cooling)).toMatchObject({ ok: false, error: 'bad-color' })
    expect(validatePlacement(board, { x: 1, y: 2, color: -1 }, cooling)).toMatchObject({ ok: false, error: 'bad-color' })
  })

  it('enforces the cooldown with the time left', () => {
    expect(validatePlacement(board, { x: 1, y: 2, color: 3 }, { now: 10_000, lastPlacedAt: 9_400 })).toEqual({
      ok: false,
      error: 'cooldown',
      retryAfterMs: 400,
      message: 'cooling down: one placement per cooldown; wait 1 s',
    })
    expect(validatePlacement(board, { x: 1, y: 2, color: 3 }, { now: 10_000, lastPlacedAt: 9_000 }).ok).toBe(true)
    expect(cooldownRemaining(1000, undefined, 5)).toBe(0)
  })

  it('applies lock, ban and protected regions to everyone but admins', () => {
    const locked = { ...board, locked: true }
    expect(validatePlacement(locked, { x: 1, y: 2, color: 3 }, ctx)).toMatchObject({ error: 'locked' })
    expect(validatePlacement(board, { x: 1, y: 2, color: 3 }, { ...ctx, banReason: 'spam' })).toMatchObject({
      error: 'banned',
      message: 'spam',
    })
    const protectedRects = [{ x: 0, y: 0, w: 2, h: 3 }]
    expect(validatePlacement(board, { x: 1, y: 2, color: 3 }, { ...ctx, protectedRects })).toMatchObject({ error: 'protected' })
    expect(validatePlacement(board, { x: 2, y: 2, color: 3 }, { ...ctx, protectedRects }).ok).toBe(true)
    const admin = { ...ctx, isAdmin: true, lastPlacedAt: 9_999, protectedRects, banReason: 'x' }
    expect(validatePlacement(locked, { x: 1, y: 2, color: 3 }, admin).ok).toBe(true)
  })
})
