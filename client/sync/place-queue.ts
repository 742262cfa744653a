/**
 * The offline placement queue's rules (pure): at most one queued placement per board, and what to
 * do with it given where the page stands. client/sync/queue-runner.ts does the I/O (storage,
 * timers, sending through the placer).
 *
 * Why one: the relay allows one placement per cooldown, so a longer queue could only be refused
 * (or, if the relay queued too, place faster than a person online could). A placement made while
 * one is queued replaces it. The exception is a placement already sent once (`sent`): the relay
 * may have applied it, so it is never replaced, only re-sent with its id until it has an answer
 * (the relay answers a retried id with its first outcome: docs/PROTOCOL.md "Retrying a placement").
 */
import { isPlacementId } from '../../shared/protocol.ts'

/** One placement waiting for the relay, as kept across reloads (JSON in localStorage). */
export type QueuedPlacement = {
  /** The placement id (shared/protocol.ts PLACEMENT_ID_PATTERN), chosen once and kept for every retry. */
  id: string
  x: number
  y: number
  color: number
  /** When it was queued (ms, relay clock as the page estimated it). */
  queuedAt: number
  /** The tile's colour index on the page's board when queued; null if the tile was not on it. */
  tileColorWhenQueued: number | null
  /** Sent at least once: the relay may have applied it; it is retried with the same id only. */
  sent: boolean
  /** When it was first sent (ms, relay clock estimate; null: never): the relay's retry window starts then. */
  sentAt: number | null
  /** The person chose Keep after the tile changed: send it whatever the tile now shows. */
  kept: boolean
}

/** What placing `next` does to the queue holding `current`. */
export type EnqueueResult =
  | { outcome: 'queued' | 'replaced'; queued: QueuedPlacement }
  /** `current` was sent and awaits its answer: it stays, `next` is not queued. */
  | { outcome: 'busy'; queued: QueuedPlacement }

export const enqueue = (current: QueuedPlacement | null, next: QueuedPlacement): EnqueueResult => {
  if (current === null) return { outcome: 'queued', queued: next }
  if (current.sent) return { outcome: 'busy', queued: current }
  return { outcome: 'replaced', queued: next }
}

/** Where the page stands when it decides what to do with the queued placement. */
export type QueueContext = {
  /** The socket is live: the board is caught up (the tile's colour is current) and Place can be sent. */
  live: boolean
  /** The tile's colour index on the page's board now (undefined: not on the board). */
  tileColor: number | undefined
  /** Relay ms now, and before which a new placement is refused (the cooldown). */
  now: number
  nextPlaceAt: number
  /**
   * How long after its first attempt the relay still recognises a placement id (ms): the board's
   * cooldown plus PlacementIdLimits.retryWindowMs, less a margin for clock error.
   */
  retryWindowMs: number
}

export type QueueStep =
  /** Not live: keep it. */
  | { kind: 'wait' }
  /** Live but cooling down: look again in `ms`. A queue never places faster than online placing. */
  | { kind: 'cooldown'; ms: number }
  /** Someone changed the tile since it was queued: ask the person (Keep / Drop) before sending. */
  | { kind: 'conflict'; tileColor: number | undefined }
  /** Send it; `retry` when it was sent before (same id, no local checks: the relay answers with its first outcome). */
  | { kind: 'send'; retry: boolean }
  /**
   * Sent, its answer lost, and too long ago for the relay to recognise the id: a retry would be
   * judged as a new placement and could place it twice. Forget it; the board shows the outcome.
   */
  | { kind: 'expired' }

export const nextQueueStep = (q: QueuedPlacement, ctx: QueueContext): QueueStep => {
  if (!ctx.live) return { kind: 'wait' }
  // A retry is answered with the first attempt's outcome even within the cooldown it started, and
  // the tile may show its own colour because it landed: neither check applies.
  if (q.sent) return q.sentAt !== null && ctx.now - q.sentAt > ctx.retryWindowMs ? { kind: 'expired' } : { kind: 'send', retry: true }
  const tileColor = ctx.tileColor ?? null
  if (!q.kept && tileColor !== q.tileColorWhenQueued) return { kind: 'conflict', tileColor: ctx.tileColor }
  if (ctx.nextPlaceAt > ctx.now) return { kind: 'cooldown', ms: ctx.nextPlaceAt - ctx.now }
  return { kind: 'send', retry: false }
}

const isIndex = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0

/** A stored queue entry read back, or null when it is absent, damaged or from another layout. */
export const parseQueued = (json: string | null): QueuedPlacement | null => {
  if (json === null) return null
  let v: unknown
  try {
    v = JSON.parse(json)
  } catch {
    return null
  }
  if (typeof v !== 'object' || v === null) return null
  const r = v as Record<string, unknown>
  const ok =
    isPlacementId(r.id) &&
    isIndex(r.x) &&
    isIndex(r.y) &&
    isIndex(r.color) &&
    typeof r.queuedAt === 'number' &&
    (r.tileColorWhenQueued === null || isIndex(r.tileColorWhenQueued)) &&
    typeof r.sent === 'boolean' &&
    (r.sentAt === null || typeof r.sentAt === 'number') &&
    typeof r.kept === 'boolean'
  return ok ? (r as QueuedPlacement) : null
}
