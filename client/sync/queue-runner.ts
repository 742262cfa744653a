/**
 * Every placement of the page goes through here: sent at once when the board is live and nothing
 * is queued, else queued (one per board, client/sync/place-queue.ts says why) and sent when the
 * board is live again, the cooldown allows it, and the tile still shows what it showed when the
 * placement was queued (if not, the person is asked: keep or drop).
 *
 * The queued placement is kept in localStorage (`tessera.queue.<board>`): it survives a reload and
 * a closed tab, and every tab of the board sees the same one. A placement is written there, marked
 * `sent`, before its Place frame leaves, and removed only once the relay answered: a placement in
 * flight when the socket dropped (or the tab closed) is sent again with the same id, which the
 * relay answers with its first outcome, so it is never placed twice (two tabs retrying the same id
 * get the same answer too).
 */
import type { BoardConfig } from '../../shared/board.ts'
import { validatePlacement } from '../../shared/placement.ts'
import { type PlaceError, PlacementIdLimits } from '../../shared/protocol.ts'
import type { RelayClock } from './clock.ts'
import { enqueue, nextQueueStep, parseQueued, type QueuedPlacement } from './place-queue.ts'
import type { Intent, Placer } from './placement.ts'

/** What the queue last did, for the feedback line (null: nothing to say; the placer's state shows). */
export type QueueNote =
  | { kind: 'queued' | 'replaced' | 'retrying'; entry: QueuedPlacement }
  /** The tile changed since the placement was queued: Keep or Drop. `tileColor`: what it shows now. */
  | { kind: 'conflict'; entry: QueuedPlacement; tileColor: number | undefined }
  | { kind: 'dropped'; entry: QueuedPlacement }
  /** Sent, its answer lost, too long ago to retry safely (place-queue.ts 'expired'): forgotten. */
  | { kind: 'expired'; entry: QueuedPlacement }
  /**
   * Refused 'cooldown' when sent (the page's estimate of the relay clock was early, or the
   * identity placed elsewhere): kept queued under a new id, sent again in `retryAfterMs`.
   */
  | { kind: 'cooldown'; entry: QueuedPlacement; retryAfterMs: number | null }
  /**
   * Refused for a passing reason (too many requests from this address, the relay's storage
   * failing): nothing was placed; kept queued under a new id, sent again in `retryAfterMs`.
   */
  | { kind: 'held'; entry: QueuedPlacement; error: 'rate-limited' | 'unavailable'; retryAfterMs: number }
  /** A placement already sent awaits its answer: the new one was not queued. */
  | { kind: 'busy'; entry: QueuedPlacement }
  /** The shared rules refused it before queueing (outside the board, colour, lock). */
  | { kind: 'refused'; error: PlaceError; message: string | null }

export type QueueView = { entry: QueuedPlacement | null; note: QueueNote | null }

/** ms before a queued placement refused 'unavailable' (the relay's storage failing) is sent again. */
const UNAVAILABLE_RETRY_MS = 5000

export type QueueRunner = {
  view: () => QueueView
  /** The person pressed Place on `intent`. */
  place: (intent: Intent) => Promise<void>
  /** Looks at the queued placement again (the board went live, the cooldown changed). */
  flush: () => void
  /** After a conflict: send it anyway. */
  keep: () => void
  /** After a conflict (or any time before it is sent): forget it; nothing is sent. */
  drop: () => void
  onChange: (listener: (view: QueueView) => void) => void
}

export type QueueRunnerDeps = {
  boardId: string
  /** localStorage; null where there is none (the queue then lives as long as the page). */
  storage: Storage | null
  placer: Placer
  clock: RelayClock
  board: () => BoardConfig
  /** The board is live and a Place can be sent now. */
  live: () => boolean
  colorAt: (x: number, y: number) => number | undefined
  /** A new placement id (shared/protocol.ts newPlacementId). */
  newId: () => string
  /**
   * Calls back when another tab of this origin changed a stored key (the 'storage' event), so
   * that every tab draws the same queued placement. Optional: tests drive the runner without it.
   */
  onStorageChange?: (listener: (key: string | null) => void) => void
}

export const createQueueRunner = (deps: QueueRunnerDeps): QueueRunner => {
  const key = `tessera.queue.${deps.boardId}`
  // The copy used where there is no storage, and the cache of the stored one.
  let memory: QueuedPlacement | null = null
  const load = (): QueuedPlacement | null => {
    if (!deps.storage) return memory
    try {
      return parseQueued(deps.storage.getItem(key))
    } catch {
      return memory
    }
  }
  const store = (q: QueuedPlacement | null) => {
    memory = q
    try {
      if (q) deps.storage?.setItem(key, JSON.stringify(q))
      else deps.storage?.removeItem(key)
    } catch {
      // Storage full or refused: the in-memory copy still serves this page.
    }
  }

  const loaded = load()
  let note: QueueNote | null = loaded ? { kind: loaded.sent ? 'retrying' : 'queued', entry: loaded } : null
  let sending = false
  // Relay ms before which a placement refused 'cooldown' is not sent again: at least a second,
  // whatever the placer's nextPlaceAt says (a refusal without retryAfterMs must not loop).
  let holdUntil = 0
  let timer: ReturnType<typeof setTimeout> | null = null
  const listeners: ((v: QueueView) => void)[] = []
  const view = (): QueueView => ({ entry: load(), note })
  const emit = () => {
    const v = view()
    for (const l of listeners) l(v)
  }

  /**
   * Sends `q` through the placer, keeping it stored (as sent) until the relay has answered.
   * `queued`: it waited in the queue (a placement made live is refused 'cooldown' as before: the
   * person sees the countdown and places again).
   */
  const send = async (q: QueuedPlacement, retry: boolean, queued: boolean) => {
    sending = true
    // The relay's retry window runs from the first attempt: a retry keeps its sentAt.
    store({ ...q, sent: true, sentAt: q.sentAt ?? deps.clock.now() })
    note = null
    emit()
    const state = await deps.placer.place({ x: q.x, y: q.y, color: q.color }, q.id, retry)
    sending = false
    const now = load()
    if (now?.id === q.id) {
      // 'lost': the relay may have it; keep it (sent) and retry the same id once live again (the
      // placer's 'lost' state says so). Refused 'offline' locally: nothing left, so it is as sent
      // as it was.
      if (state.kind === 'lost') {
        // Kept as stored.
      } else if (queued && state.kind === 'rejected' && state.error === 'cooldown') {
        // Nothing was placed (a refusal changes nothing), and the relay remembers this id's
        // refusal: a new id, so that the next attempt is judged afresh once the cooldown ends
        // (the placer moved nextPlaceAt to the relay's retryAfterMs).
        const again = { ...now, id: deps.newId(), sent: false, sentAt: null }
        holdUntil = deps.clock.now() + Math.max(1000, state.retryAfterMs ?? deps.board().cooldownMs)
        store(again)
        note = { kind: 'cooldown', entry: again, retryAfterMs: state.retryAfterMs }
      } else if (queued && state.kind === 'rejected' && (state.error === 'rate-limited' || state.error === 'unavailable')) {
        // Passing refusals change nothing either: a new id, tried again after a pause (the
        // relay's retryAfterMs, or UNAVAILABLE_RETRY_MS while its storage recovers).
        const again = { ...now, id: deps.newId(), sent: false, sentAt: null }
        const wait = Math.max(1000, state.retryAfterMs ?? UNAVAILABLE_RETRY_MS)
        holdUntil = deps.clock.now() + wait
        store(again)
        note = { kind: 'held', entry: again, error: state.error, retryAfterMs: wait }
      } else if (state.kind === 'rejected' && state.error === 'offline') store({ ...now, sent: q.sent, sentAt: q.sentAt })
      else store(null)
    }
    emit()
    flush()
  }

  const flush = () => {
    if (timer !== null) clearTimeout(timer)
    timer = null
    const q = load()
    if (!q || sending) return
    const step = nextQueueStep(q, {
      live: deps.live(),
      tileColor: deps.colorAt(q.x, q.y),
      now: deps.clock.now(),
      nextPlaceAt: Math.max(deps.placer.nextPlaceAt(), holdUntil),
      // A minute's margin for the page's estimate of the relay clock.
      retryWindowMs: deps.board().cooldownMs + PlacementIdLimits.retryWindowMs - 60_000,
    })
    if (step.kind === 'expired') {
      store(null)
      note = { kind: 'expired', entry: q }
      emit()
      return
    }
    if (step.kind === 'wait') return
    if (step.kind === 'cooldown') {
      // Looked at again when the cooldown ends (+ 50 ms: past it by the relay's clock too).
      timer = setTimeout(flush, Math.min(2 ** 31 - 1, step.ms + 50))
      return
    }
    if (step.kind === 'conflict') {
      if (note?.kind !== 'conflict' || note.entry.id !== q.id || note.tileColor !== step.tileColor) {
        note = { kind: 'conflict', entry: q, tileColor: step.tileColor }
        emit()
      }
      return
    }
    void send(q, step.retry, true)
  }

  deps.onStorageChange?.((changed) => {
    if (changed !== key && changed !== null) return
    const q = load()
    // Another tab queued, replaced, sent or dropped it: say what is there now, and look at it.
    const said = note && 'entry' in note ? note.entry.id : null
    if (q && said !== q.id) note = { kind: q.sent ? 'retrying' : 'queued', entry: q }
    else if (!q && said !== null && note?.kind !== 'dropped') note = null
    emit()
    flush()
  })

  return {
    view,
    place: async (intent) => {
      if (sending || deps.placer.state().kind === 'pending') return
      const current = load()
      const fresh: QueuedPlacement = {
        id: deps.newId(),
        ...intent,
        queuedAt: deps.clock.now(),
        tileColorWhenQueued: deps.colorAt(intent.x, intent.y) ?? null,
        sent: false,
        sentAt: null,
        kept: false,
      }
      // Live with nothing queued: straight through the placer (its local checks, the cooldown
      // among them, refuse before sending what the relay would refuse).
      if (current === null && deps.live()) return send(fresh, false, false)
      // Queued: the rules that do not depend on time are checked now (the cooldown when it is sent).
      const verdict = validatePlacement(deps.board(), intent, { now: deps.clock.now(), lastPlacedAt: undefined })
      if (!verdict.ok) {
        note = { kind: 'refused', error: verdict.error, message: verdict.message ?? null }
        emit()
        return
      }
      const r = enqueue(current, fresh)
      if (r.outcome !== 'busy') store(r.queued)
      note = { kind: r.outcome, entry: r.queued }
      deps.placer.reset()
      emit()
      flush()
    },
    flush,
    keep: () => {
      const q = load()
      if (!q) return
      store({ ...q, kept: true })
      note = { kind: 'queued', entry: q }
      emit()
      flush()
    },
    drop: () => {
      const q = load()
      if (!q || q.sent || sending) return
      store(null)
      note = { kind: 'dropped', entry: q }
      emit()
    },
    onChange: (l) => {
      listeners.push(l)
    },
  }
}
