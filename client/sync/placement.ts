/**
 * One identity's placements on one board: checks an intent with the shared rules before sending
 * it (so that the UI can say "cooling down" without a round trip), sends it, and reports an
 * honest state: pending until the relay answers, then placed or rejected with the typed error.
 *
 * Nothing is painted optimistically. The relay acknowledges a placement once it is durable; its
 * broadcast goes with the acknowledgement or, on a busy relay, up to a few tens of ms after it
 * (relay/fan-out.ts), so the page keeps the ghost until the board next changes (client/app.ts).
 */
import type { BoardConfig } from '../../shared/board.ts'
import { validatePlacement } from '../../shared/placement.ts'
import type { PlaceError } from '../../shared/protocol.ts'
import type { RelayClock } from './clock.ts'
import type { PlaceOutcome } from './connection.ts'

/** A tile and colour someone means to place. */
export type Intent = { x: number; y: number; color: number }

/**
 * Why a placement did not happen: a relay PlaceError, or 'offline' (no open socket, nothing
 * was sent).
 */
export type RejectReason = PlaceError | 'offline'

export type PlacementState =
  | { kind: 'idle' }
  /** Sent; the relay has not answered yet. */
  | ({ kind: 'pending' } & Intent)
  /** The relay applied it at placedAt (relay ms). */
  | ({ kind: 'placed'; placedAt: number } & Intent)
  /**
   * Not applied. `local` is true when the shared rules refused it before sending (nothing went
   * over the wire).
   */
  | ({ kind: 'rejected'; error: RejectReason; message: string | null; retryAfterMs: number | null; local: boolean } & Intent)
  /** The socket dropped before the answer: the relay may or may not have applied it. */
  | ({ kind: 'lost' } & Intent)

export type Placer = {
  state: () => PlacementState
  /** Relay ms before which a placement is refused (0 = now). */
  nextPlaceAt: () => number
  /** The Session frame told us when we may place next. */
  setNextPlaceAt: (t: number) => void
  /**
   * Checks and, if it passes, sends with placement id `id`. Resolves with the final state. A
   * `retry` (the same id sent before, its answer lost) skips the local checks: the relay answers
   * it with its first outcome, even within the cooldown that outcome started.
   */
  place: (intent: Intent, id: string, retry?: boolean) => Promise<PlacementState>
  /** The state shown after a placement was acknowledged or dismissed. */
  reset: () => void
  onChange: (listener: (state: PlacementState) => void) => () => void
}

export type PlacerDeps = {
  board: () => BoardConfig
  clock: RelayClock
  send: (intent: Intent, id: string) => Promise<PlaceOutcome>
  canSend: () => boolean
}

export const createPlacer = (deps: PlacerDeps): Placer => {
  let state: PlacementState = { kind: 'idle' }
  let nextPlaceAt = 0
  const listeners = new Set<(s: PlacementState) => void>()
  const set = (next: PlacementState): PlacementState => {
    state = next
    for (const l of listeners) l(state)
    return state
  }

  return {
    state: () => state,
    nextPlaceAt: () => nextPlaceAt,
    setNextPlaceAt: (t) => {
      nextPlaceAt = t
      for (const l of listeners) l(state)
    },
    place: async (intent, id, retry = false) => {
      // One placement in flight at a time: a second one would only meet the cooldown.
      if (state.kind === 'pending') return state
      const board = deps.board()
      const now = deps.clock.now()
      // The relay tracks the last placement; nextPlaceAt - cooldownMs recovers it.
      const lastPlacedAt = nextPlaceAt > now ? nextPlaceAt - board.cooldownMs : undefined
      const verdict = retry ? ({ ok: true } as const) : validatePlacement(board, intent, { now, lastPlacedAt })
      if (!verdict.ok) {
        return set({
          kind: 'rejected',
          ...intent,
          error: verdict.error,
          message: verdict.message ?? null,
          retryAfterMs: verdict.retryAfterMs ?? null,
          local: true,
        })
      }
      if (!deps.canSend()) {
        return set({ kind: 'rejected', ...intent, error: 'offline', message: null, retryAfterMs: null, local: true })
      }
      set({ kind: 'pending', ...intent })
      const outcome = await deps.send(intent, id)
      if (outcome.kind === 'lost') return set({ kind: 'lost', ...intent })
      const { result, receivedAt } = outcome
      if (result.ok) {
        deps.clock.observe(result.placedAt, receivedAt)
        nextPlaceAt = result.nextPlaceAt
        return set({ kind: 'placed', ...intent, placedAt: result.placedAt })
      }
      if (result.retryAfterMs) nextPlaceAt = deps.clock.now() + result.retryAfterMs
      return set({
        kind: 'rejected',
        ...intent,
        error: result.error,
        message: result.message ?? null,
        retryAfterMs: result.retryAfterMs ?? null,
        local: false,
      })
    },
    reset: () => {
      if (state.kind !== 'pending') set({ kind: 'idle' })
    },
    onChange: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
