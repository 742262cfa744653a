/**
 * Placement rules, shared by the relay (which enforces them) and clients (which check before
 * sending, to show an honest state). Pure: the caller supplies the clock and the identity's state.
 */
import { type BoardConfig, isInsideBoard } from './board.ts'
import { PlaceError } from './protocol.ts'

/** An axis-aligned rectangle of tiles: x, y of its top-left tile, w, h in tiles. */
export type Rect = { x: number; y: number; w: number; h: number }

/** Whether tile (x, y) lies in the rectangle. */
export const rectContains = (r: Rect, x: number, y: number): boolean => x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h

/** What the rules need to know about the one placing and the board's moderation state. */
export type PlacementContext = {
  /** Relay clock, ms since the Unix epoch. */
  now: number
  /** When this identity last placed on this board (ms since the Unix epoch), if ever. */
  lastPlacedAt: number | undefined
  /** Admins skip the cooldown, the lock and protected regions. */
  isAdmin?: boolean
  /** Set when the identity is banned: the reason shown to it. */
  banReason?: string | null
  /** Rectangles where only admins may place. */
  protectedRects?: readonly Rect[]
}

/** A placement that passed validation: integer coordinates inside the board, a palette colour. */
export type ValidPlacement = { ok: true; x: number; y: number; color: number }

/** A placement that did not pass. */
export type RejectedPlacement = { ok: false; error: PlaceError; retryAfterMs?: number; message: string }

/**
 * Checks a placement intent against the board and the rules. Order: shape, bounds, colour,
 * lock, ban, protected region, cooldown — so that a malformed intent never costs a cooldown
 * and the cooldown answer is given only to placements that would otherwise succeed.
 */
export const validatePlacement = (
  board: BoardConfig,
  intent: { x: unknown; y: unknown; color: unknown },
  ctx: PlacementContext,
): ValidPlacement | RejectedPlacement => {
  const { x, y, color } = intent
  if (!Number.isInteger(x) || !Number.isInteger(y) || !Number.isInteger(color)) {
    return { ok: false, error: PlaceError.BadRequest, message: 'x, y and color must be integers' }
  }
  if (!isInsideBoard(board, x, y)) {
    return { ok: false, error: PlaceError.OutOfBounds, message: `the board is ${board.width}x${board.height}` }
  }
  const c = color as number
  if (c < 0 || c >= board.palette.length) {
    return { ok: false, error: PlaceError.BadColor, message: `color must be in 0..${board.palette.length - 1}` }
  }
  const px = x as number
  const py = y as number
  if (!ctx.isAdmin) {
    if (board.locked) return { ok: false, error: PlaceError.Locked, message: 'the board is locked' }
    if (ctx.banReason != null) return { ok: false, error: PlaceError.Banned, message: ctx.banReason }
    if (ctx.protectedRects?.some((r) => rectContains(r, px, py))) {
      return { ok: false, error: PlaceError.Protected, message: 'this area is protected' }
    }
    const wait = cooldownRemaining(board.cooldownMs, ctx.lastPlacedAt, ctx.now)
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000)
      return {
        ok: false,
        error: PlaceError.Cooldown,
        retryAfterMs: wait,
        message: `cooling down: one placement per cooldown; wait ${seconds} s`,
      }
    }
  }
  return { ok: true, x: px, y: py, color: c }
}

/** Milliseconds until an identity that last placed at lastPlacedAt may place again (0 = now). */
export const cooldownRemaining = (cooldownMs: number, lastPlacedAt: number | undefined, now: number): number =>
  lastPlacedAt === undefined ? 0 : Math.max(0, lastPlacedAt + cooldownMs - now)
