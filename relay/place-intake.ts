/**
 * Where a placement enters the room: a retried placement id is answered with its first outcome,
 * a new intent is validated in memory (board, palette, cooldowns, bans, protected areas, the
 * address's budget), its cooldown reserved, and it is queued for the next commit
 * (relay/commit-queue.ts). The relay's own writes (admin fill, restores) enter here too,
 * without placement rules.
 */
import { isInsideBoard } from '../shared/board.ts'
import { type Rect, validatePlacement } from '../shared/placement.ts'
import { RecordKind } from '../shared/placement-record.ts'
import { isPlacementId, PLACEMENT_ID_REUSED, PlaceError, type PlaceResult } from '../shared/protocol.ts'
import type { BoardState } from './board-state.ts'
import { type CommitQueue, newRecord, type TileWrite } from './commit-queue.ts'
import type { Cooldowns, CooldownUndo } from './cooldowns.ts'
import { limitKey } from './ip-address.ts'
import type { PlacementIds } from './placement-ids.ts'

/** A placement as a client asked for it (unchecked); `id`: its placement id, if it has one. */
export type PlaceIntent = { x: unknown; y: unknown; color: unknown; id?: unknown }

/** Who is placing, as the transport established it. */
export type Placer = { user: string; ip: string; isAdmin: boolean }

/** Moderation state the room consults on every placement. */
export type ModerationView = {
  /** The reason an identity (or its address) is banned, or null. */
  banReasonOf: (user: string, ip: string) => string | null
  /** Rectangles of a board where only admins may place. */
  protectedRects: (board: string) => readonly Rect[]
}

export type PlaceIntake = {
  /** Room.submit. */
  submit: (intent: PlaceIntent, who: Placer, done: (result: PlaceResult) => void) => void
  /** Room.write. */
  write: (tiles: readonly TileWrite[], user: string, kind: RecordKind) => Promise<PlaceResult>
}

export const createPlaceIntake = (deps: {
  board: string
  state: BoardState
  queue: CommitQueue
  cooldowns: Cooldowns
  placementIds: PlacementIds
  moderation?: ModerationView | undefined
  /** Shown in the budget's refusal (the budget itself is in relay/cooldowns.ts). */
  ipPlacementsPerCooldown?: number | undefined
  now: () => number
}): PlaceIntake => {
  const { board: id, state, queue, cooldowns, placementIds, now } = deps

  const submit: PlaceIntake['submit'] = (intent, who, done) => {
    if (intent.id === undefined) return submitNew(intent, who, done, undefined)
    const pid = intent.id
    if (!isPlacementId(pid)) {
      return done({ ok: false, error: PlaceError.BadRequest, message: 'id must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -' })
    }
    const seen = placementIds.get(who.user, pid)
    if (seen) {
      if (seen.x !== intent.x || seen.y !== intent.y || seen.color !== intent.color) {
        return done({ ok: false, error: PlaceError.BadRequest, message: PLACEMENT_ID_REUSED })
      }
      if (seen.outcome) return done(seen.outcome)
      seen.waiters ??= []
      seen.waiters.push(done)
      return
    }
    const { x, y, color } = intent
    // An intent that is not even numbers is refused the same way every time: nothing to remember.
    if (typeof x !== 'number' || typeof y !== 'number' || typeof color !== 'number') return submitNew(intent, who, done, undefined)
    const entry = placementIds.add({ user: who.user, id: pid, x, y, color, at: now(), outcome: null })
    submitNew(
      intent,
      who,
      (result) => {
        // Unavailable and rate-limited decided nothing about this placement: a retry is judged afresh.
        if (!result.ok && (result.error === PlaceError.Unavailable || result.error === PlaceError.RateLimited)) {
          placementIds.drop(entry, result)
        } else {
          placementIds.settle(entry, result)
        }
        done(result)
      },
      pid,
    )
  }

  /** A placement not seen before: validated, then queued for the next commit (or refused). */
  const submitNew = (intent: PlaceIntent, who: Placer, done: (result: PlaceResult) => void, placementId: string | undefined) => {
    const refused = queue.unavailable()
    if (refused) return done(refused)
    const t = now()
    // The per-address cooldown keys like every per-address limit: an IPv6 host by its /64.
    const ipKey = limitKey(who.ip)
    const verdict = validatePlacement(state.board(), intent, {
      now: t,
      lastPlacedAt: cooldowns.lastPlacedAt(who.user, ipKey),
      isAdmin: who.isAdmin,
      banReason: deps.moderation?.banReasonOf(who.user, who.ip) ?? null,
      protectedRects: deps.moderation?.protectedRects(id),
    })
    if (!verdict.ok) return done(verdict)
    let cooldown: CooldownUndo | undefined
    if (!who.isAdmin) {
      // Only a placement that would otherwise succeed spends the address's budget.
      const wait = cooldowns.takeBudget(ipKey, t)
      if (wait > 0) {
        return done({
          ok: false,
          error: PlaceError.RateLimited,
          retryAfterMs: wait,
          message: `this address placed ${deps.ipPlacementsPerCooldown} tiles on this board within one cooldown (the per-address budget)`,
        })
      }
      // Reserve the cooldown now, so that a second intent in the same tick is refused.
      cooldown = cooldowns.reserve(who.user, ipKey, t)
    }
    const record = newRecord(verdict.x, verdict.y, verdict.color, who.user, RecordKind.Placement, 0, t, placementId)
    queue.push({ kind: 'write', record, cooldown, done })
  }

  const write: PlaceIntake['write'] = (tiles, user, kind) => {
    const refused = queue.unavailable()
    if (refused) return Promise.resolve(refused)
    if (tiles.length === 0) return Promise.resolve({ ok: true, placedAt: now(), nextPlaceAt: now() })
    const board = state.board()
    for (const w of tiles) {
      if (!isInsideBoard(board, w.x, w.y) || !Number.isInteger(w.color) || w.color < 0 || w.color >= board.palette.length) {
        throw new Error(`room.write: tile ${JSON.stringify(w)} is not valid on board ${id}`)
      }
    }
    return queue.pushWrites(tiles, user, kind)
  }

  return { submit, write }
}
