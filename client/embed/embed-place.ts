/**
 * An embed's place() (docs/EMBEDDING.md "Placing"): a placement the host page asks for, refused as
 * data the host can read (a tessera-rejected event, and the promise rejected with the same
 * detail) or sent through the shared placer (client/sync/placement.ts) once the embed is live
 * with an identity (waiting up to PLACE_WAIT_MS for that).
 */
import type { Rect } from '../../shared/placement.ts'
import { newPlacementId } from '../../shared/protocol.ts'
import type { PlacementState, Placer } from '../sync/placement.ts'
import { EmbedEvent, type RejectedDetail } from './embed-events.ts'
import type { EmbedIdentity } from './embed-identity.ts'
import { inRegion } from './region.ts'

/**
 * Codes of refusals an embed makes itself, beside the relay's PlaceError codes and the
 * identity refusals of POST /api/session (unauthorized, origin-not-allowed, ...).
 */
export const EmbedRefusal = {
  /** readonly is set: this embed does not place. */
  ReadOnly: 'read-only',
  /** The tile is outside the region. */
  OutOfRegion: 'out-of-region',
  /** No live connection (or no identity) within PLACE_WAIT_MS. */
  Offline: 'offline',
  /** The connection dropped before the relay answered: the placement may or may not have happened. */
  Lost: 'lost',
  /** Not a colour of the palette, or not integers. */
  BadRequest: 'bad-request',
} as const

/** tessera-placed's detail and what place() resolves with. Times are relay ms since the Unix epoch. */
export type PlacedDetail = { x: number; y: number; color: number; placedAt: number; nextPlaceAt: number }

/** How long place() waits for a live socket with an identity before refusing with 'offline' (ms). */
const PLACE_WAIT_MS = 15_000

const rejection = (detail: RejectedDetail): Error & RejectedDetail => Object.assign(new Error(detail.message), detail)

export type EmbedPlace = {
  place: (intent: { x: number; y: number; color: number }) => Promise<PlacedDetail>
  /** Tells the placements waiting for a live identity that something changed (status, identity, session, end). */
  wake: () => void
}

export const createEmbedPlace = (deps: {
  interactive: boolean
  placer: Placer
  identity: Pick<EmbedIdentity, 'token' | 'me' | 'refusal'>
  /** Whether the socket is live and can send. */
  live: () => boolean
  /** The region shown, once the board is loaded (null before: not yet checked). */
  region: () => Rect | null
  destroyed: () => boolean
  emit: (type: EmbedEvent, detail: unknown) => void
}): EmbedPlace => {
  const waiters = new Set<() => void>()
  const wake = () => {
    for (const w of waiters) w()
  }

  /** Resolves once a placement can be sent (live, with an identity), or false after `ms`. */
  const whenPlaceable = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const check = () => {
        if (deps.destroyed() || deps.identity.refusal()) return done(false)
        if (deps.identity.token() && deps.identity.me() && deps.live()) done(true)
      }
      const timer = setTimeout(() => done(false), ms)
      const done = (ok: boolean) => {
        clearTimeout(timer)
        waiters.delete(check)
        resolve(ok)
      }
      waiters.add(check)
      check()
    })

  const outside = (x: number, y: number) => {
    const region = deps.region()
    return region !== null && !inRegion(region, x, y)
  }

  const place: EmbedPlace['place'] = async ({ x, y, color }) => {
    const refuse = (detail: RejectedDetail): never => {
      deps.emit(EmbedEvent.Rejected, detail)
      throw rejection(detail)
    }
    if (!deps.interactive) refuse({ code: EmbedRefusal.ReadOnly, message: 'this embed is read-only', x, y, color })
    if (![x, y, color].every(Number.isInteger))
      refuse({ code: EmbedRefusal.BadRequest, message: 'x, y and color must be integers', x, y, color })
    if (outside(x, y)) refuse({ code: EmbedRefusal.OutOfRegion, message: 'the tile is outside this embed’s region', x, y, color })
    const placeable = await whenPlaceable(PLACE_WAIT_MS)
    const refused = deps.identity.refusal()
    if (refused) refuse({ ...refused, x, y, color })
    if (!placeable) refuse({ code: EmbedRefusal.Offline, message: 'no live connection with an identity to place with', x, y, color })
    // Checked again: the board (and so the region) may have loaded meanwhile.
    if (outside(x, y)) refuse({ code: EmbedRefusal.OutOfRegion, message: 'the tile is outside this embed’s region', x, y, color })
    const final: PlacementState = await deps.placer.place(
      { x, y, color },
      newPlacementId((b) => crypto.getRandomValues(b)),
    )
    if (final.kind === 'placed') {
      const detail: PlacedDetail = { x, y, color, placedAt: final.placedAt, nextPlaceAt: deps.placer.nextPlaceAt() }
      deps.emit(EmbedEvent.Placed, detail)
      return detail
    }
    if (final.kind === 'rejected')
      return refuse({
        code: final.error,
        message: final.message ?? final.error,
        ...(final.retryAfterMs !== null ? { retryAfterMs: final.retryAfterMs } : {}),
        x,
        y,
        color,
      })
    if (final.kind === 'pending') return refuse({ code: 'busy', message: 'another placement is in flight', x, y, color })
    return refuse({ code: EmbedRefusal.Lost, message: 'the connection dropped before the relay answered', x, y, color })
  }

  return { place, wake }
}
