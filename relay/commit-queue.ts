/**
 * The commit queue: work accepted for the board (placements, the relay's own tile writes,
 * configuration changes) waits here and is committed in groups, one commit at a time, at most
 * one per tickMs. A commit numbers its records (history seqs), writes them and the board's
 * shards in one Yjs transaction, makes the records and that transaction's update durable in one
 * history batch (retried until it is), then hands its frames to the fan-out (relay/fan-out.ts:
 * broadcast now or within its latency budget) and acknowledges each piece of work. An edge
 * relay's followed commit (`follow`: the writer's, durable there already) is broadcast first and
 * made durable here meanwhile. Exclusive sections (rollbacks) run between commits with the queue
 * paused.
 */
import { performance } from 'node:perf_hooks'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import type * as Y from 'yjs'
import type { Logger } from '../node-kit/log.ts'
import { type DocConfig, writeDocConfig, writeTile } from '../shared/doc-schema.ts'
import { encodeSession } from '../shared/frames.ts'
import type { PlacementRecord, RecordKind } from '../shared/placement-record.ts'
import { MessageType, PlaceError, type PlaceResult } from '../shared/protocol.ts'
import { encodeTileValue } from '../shared/tile-codec.ts'
import type { BoardState } from './board-state.ts'
import type { CooldownUndo } from './cooldowns.ts'
import type { FanOut } from './fan-out.ts'
import type { BatchOp } from './history-keys.ts'
import type { AppendExtra, HistoryStore } from './history-store.ts'
import type { RetryDurably } from './retry-durably.ts'
import type { RoomSockets } from './room-sockets.ts'
import type { ShardCompactor } from './shard-compactor.ts'
import type { UpdateCapture } from './update-capture.ts'
import { rotateClientId } from './yjs-internals.ts'

/** A tile write by the relay itself (admin fill, rollback restore). */
export type TileWrite = { x: number; y: number; color: number; ref?: number }

/**
 * What an exclusive section does: its result, the tiles it writes (committed before anything
 * accepted meanwhile), and writes to the history that join the same LevelDB batch (one chunk's
 * rollback marks, its journal progress): they land with those tiles or not at all.
 */
export type ExclusiveWork<T> = () => Promise<{
  result: T
  writes: readonly TileWrite[]
  user: string
  kind: RecordKind
  attach?: AppendExtra
}>

/** Work queued for the next commit, in order. */
export type Pending =
  | { kind: 'write'; record: PlacementRecord; cooldown?: CooldownUndo | undefined; done: (r: PlaceResult) => void }
  | { kind: 'config'; config: DocConfig; done: (r: PlaceResult) => void }

/** Pending placements beyond this are refused (back-pressure) rather than queued without bound. */
const MAX_PENDING = 200_000

const unavailableResult = (): PlaceResult => ({
  ok: false,
  error: PlaceError.Unavailable,
  message: 'the relay cannot write to its storage',
})

export const tileValueOf = (r: PlacementRecord): number => encodeTileValue(r.x, r.y, r.color)

const updateFrame = (update: Uint8Array): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Sync)
  syncProtocol.writeUpdate(enc, update)
  return encoding.toUint8Array(enc)
}

/** A record as accepted: seq 0 until the commit that writes it numbers it. */
export const newRecord = (
  x: number,
  y: number,
  color: number,
  user: string,
  kind: RecordKind,
  ref: number,
  placedAt: number,
  placementId?: string,
): PlacementRecord => {
  const record: PlacementRecord = { seq: 0, x, y, color, user, placedAt, kind, ref }
  if (placementId !== undefined) record.id = placementId
  return record
}

/** Pending writes of `writesIn` whose `done` is called once, after the last (with a failure if any failed). */
const toPending = (writesIn: readonly TileWrite[], user: string, kind: RecordKind, done: (r: PlaceResult) => void, t: number) => {
  let left = writesIn.length
  let failure: PlaceResult | null = null
  const one = (r: PlaceResult) => {
    if (!r.ok) failure = r
    left -= 1
    if (left === 0) done(failure ?? r)
  }
  return writesIn.map((w): Pending => ({ kind: 'write', record: newRecord(w.x, w.y, w.color, user, kind, w.ref ?? 0, t), done: one }))
}

export type CommitQueue = {
  /** Why new work is refused now (storage failing, closing, overloaded), or null. */
  unavailable: () => PlaceResult | null
  /** Queues one piece of work for the next commit. */
  push: (p: Pending) => void
  /** Queues the relay's own tile writes; resolves once all are committed (or one failed). */
  pushWrites: (tiles: readonly TileWrite[], user: string, kind: RecordKind) => Promise<PlaceResult>
  /** Runs `fn` between commits with the queue paused (Room.exclusive). */
  exclusive: <T>(fn: ExclusiveWork<T>) => Promise<T>
  /** Whether a commit is in flight (its transaction may hold content not durable yet). */
  committing: () => boolean
  /** Calls `fn` once no commit is in flight (at once if none is). */
  whenIdle: (fn: () => void) => void
  /**
   * The history seq the document holds durably up to. Commits are broadcast after it, except an
   * edge's followed commit (`follow`), broadcast before its own durable write: until that write
   * is done (the commit in flight) the broadcast seq may be ahead of this.
   */
  docSeq: () => number
  /** Cancels the scheduled commit and waits for the one in flight. */
  stop: () => Promise<void>
  /** Refuses the work still queued (the relay is shutting down) and releases `whenIdle` callers. */
  failPending: () => void
  /**
   * An edge relay's commit (relay/edge-follower.ts), in turn with any other: `apply` writes the
   * writer's update into the document and board state and returns the new descriptor if it
   * changed; then what `apply` changed is broadcast and, meanwhile, made durable with the records
   * (numbered by the writer) and `meta`. `applied` is called with the history seq the document
   * then holds, once the commit is handed to the fan-out and before its durable write (the
   * writer's is done: a placement forwarded by this edge may be answered then). Resolves once
   * durable (the commit is in flight until then); false if the room closed first.
   */
  follow: (
    records: readonly PlacementRecord[],
    meta: Record<string, number>,
    apply: () => DocConfig | null,
    applied?: (heldSeq: number) => void,
  ) => Promise<boolean>
}

export const createCommitQueue = (deps: {
  board: string
  doc: Y.Doc
  capture: UpdateCapture
  state: BoardState
  compactor: ShardCompactor
  history: HistoryStore
  retry: RetryDurably
  sockets: RoomSockets
  fanOut: FanOut
  log: Logger
  now: () => number
  /** Minimum ms between commits (0 = group commit only). */
  tickMs: number
  closing: () => boolean
  /** Gives back a placement's cooldown (its commit failed). */
  restoreCooldown: (user: string, undo: CooldownUndo) => void
  /** From the opened document: the last history seq (all in the document). */
  lastSeq: number
  /**
   * Called once per commit right after it is durable, before its broadcast (a writer publishes it:
   * relay/commit-publisher.ts). `ipKeys`: for each record, the address key whose cooldown its
   * placement reserved ('' for none: the relay's own writes).
   */
  onDurable?: (records: readonly PlacementRecord[], update: Uint8Array | null, ipKeys: readonly string[]) => void
}): CommitQueue => {
  const { board: id, doc, state, history, log, now } = deps
  let lastSeq = deps.lastSeq
  let docSeq = deps.lastSeq
  // Struct array lengths of retired client IDs when last trimmed (rotateClientId).
  const trimmedAt = new Map<number, number>()
  let pending: Pending[] = []
  let committing: Promise<void> | null = null
  /** Cancels the scheduled commit, if one is scheduled. */
  let timer: (() => void) | null = null
  let paused = false
  let lastCommitAt = 0
  /** History writes for the next commit's batch (set by an exclusive section with its tiles). */
  let nextExtra: AppendExtra | undefined
  let waitingIdle: Array<() => void> = []

  const schedule = () => {
    if (committing || timer || deps.closing() || paused || pending.length === 0) return
    const start = () => {
      timer = null
      runCommit(takePending())
    }
    const wait = Math.max(0, lastCommitAt + deps.tickMs - now())
    if (wait > 0) {
      const t = setTimeout(start, wait)
      timer = () => clearTimeout(t)
      return
    }
    // At once, but after one poll of the sockets: a commit ends with its broadcast, during which
    // this thread reads nothing, so the placements that arrived meanwhile wait unread. Started
    // from a timer (due at once: Node times it from the loop's clock of before the broadcast)
    // or one immediate, the next commit ran before that poll and they waited a whole commit
    // more. The second immediate runs after the next poll phase.
    let i = setImmediate(() => {
      i = setImmediate(start)
    })
    timer = () => clearImmediate(i)
  }

  const takePending = () => {
    const batch = pending
    pending = []
    return batch
  }

  const runCommit = (batch: Pending[]): Promise<void> => {
    const run = commit(batch).finally(() => {
      committing = null
      releaseIdle()
      schedule()
    })
    committing = run
    return run
  }

  const releaseIdle = () => {
    const waiting = waitingIdle
    waitingIdle = []
    for (const fn of waiting) fn()
  }

  /**
   * Appends a commit to the history, retrying until the disk recovers (LevelDB's write errors
   * are sticky; the store reopens the database on the next attempt). The commit is neither
   * broadcast nor acknowledged meanwhile, and new placements are refused. False if the room
   * closes first.
   */
  const appendDurably = (
    records: readonly PlacementRecord[],
    meta: Record<string, number>,
    docWrites: readonly BatchOp[] | undefined,
    extra?: AppendExtra,
  ): Promise<boolean> =>
    deps.retry.run({
      what: 'history write',
      attempt: async () => {
        await history.append(id, records, meta, docWrites, extra)
        return true
      },
      onFirstFailure: (err) =>
        log.error(`board ${id}: history write failed; placements are refused until it succeeds:`, (err as Error).message),
    })

  /** Writes the batch into the document in one transaction (compacting shards it made due). */
  const transact = (batch: Pending[]) => {
    const board = state.board()
    const bitmap = state.bitmap()
    rotateClientId(doc, trimmedAt)
    doc.transact(() => {
      for (const p of batch) {
        if (p.kind === 'config') {
          writeDocConfig(doc, p.config)
          continue
        }
        const r = p.record
        const key = writeTile(doc, board.shardSize, r.x, r.y, r.color)
        bitmap[r.y * board.width + r.x] = r.color
        deps.compactor.wrote(key)
      }
      deps.compactor.compact()
    })
  }

  const commit = async (batch: Pending[]) => {
    if (batch.length === 0) return
    const records: PlacementRecord[] = []
    for (const p of batch) if (p.kind === 'write') records.push(p.record)
    // Seqs are given here, not on acceptance: the history stays contiguous (the commit below is
    // retried until it is durable), and live Tiles frames are checked for gaps by their seqs.
    for (const r of records) r.seq = ++lastSeq
    transact(batch)
    const update = deps.capture.take()
    const last = records[records.length - 1]
    // One durable write: the records with the commit's document update (or, when due, the
    // document's state in place of the updates stored before: relay/doc-updates.ts), built once
    // and retried as they are. docSeq: the records up to it are in the document.
    const docWrites = update ? history.docWrites(id, update, doc) : undefined
    const extra = nextExtra
    nextExtra = undefined
    const meta = { docSeq: last?.seq ?? docSeq, epochReplacements: deps.compactor.epochReplacements() }
    if (!(await appendDurably(records, meta, docWrites, extra))) {
      // Closing while the disk fails: nothing was written; the document is dropped with the room.
      for (const p of batch) {
        if (p.kind === 'write' && p.cooldown) deps.restoreCooldown(p.record.user, p.cooldown)
        p.done(unavailableResult())
      }
      return
    }
    if (last) docSeq = last.seq
    if (deps.onDurable) {
      const ipKeys: string[] = []
      for (const p of batch) if (p.kind === 'write') ipKeys.push(p.cooldown?.ip ?? '')
      deps.onDurable(records, update, ipKeys)
    }
    lastCommitAt = now()
    broadcast(batch, records, update, docSeq)
  }

  /**
   * Hands the commit to the fan-out (which broadcasts it now or within its latency budget:
   * relay/fan-out.ts), then acknowledges it, with every socket corked: a socket gets its
   * acknowledgements (and the broadcast, when that leaves now) in one write. `heldSeq`: the
   * history seq the document holds after it (durably, except for a followed commit).
   */
  const broadcast = (batch: Pending[], records: PlacementRecord[], update: Uint8Array | null, heldSeq: number) => {
    let config: DocConfig | null = null
    for (const p of batch) if (p.kind === 'config') config = p.config
    const started = performance.now()
    const corked = [...deps.sockets.all()]
    for (const conn of corked) conn.cork()
    let sentNow = false
    try {
      sentNow = deps.fanOut.committed({
        firstSeq: records[0]?.seq ?? 0,
        tiles: records.map(tileValueOf),
        config,
        yjs: update ? updateFrame(update) : null,
        docSeq: heldSeq,
      })
      acknowledge(batch)
    } finally {
      for (const conn of corked) conn.uncork()
    }
    // The broadcast's writes happened at uncork: their cost sets the next broadcast's spacing.
    if (sentNow) deps.fanOut.sent(performance.now() - started)
  }

  /** Calls back each piece of a durable commit. */
  const acknowledge = (batch: Pending[]) => {
    const cooldownMs = state.board().cooldownMs
    for (const p of batch) {
      if (p.kind === 'config') p.done({ ok: true, placedAt: lastCommitAt, nextPlaceAt: lastCommitAt })
      else {
        // Only an identity's placement reserved a cooldown; admin places and writes have none.
        const { placedAt } = p.record
        p.done({ ok: true, placedAt, nextPlaceAt: p.cooldown ? placedAt + cooldownMs : placedAt })
        // The identity's other tabs learn that its cooldown started (their Place buttons count
        // down instead of offering a placement the relay would refuse).
        const tabs = p.cooldown && cooldownMs > 0 ? deps.sockets.tabsOf(p.record.user) : undefined
        if (tabs && tabs.size > 1) {
          const frame = encodeSession(p.record.user, placedAt + cooldownMs)
          for (const conn of tabs) conn.send(frame)
        }
        // With per-address cooldowns, so do the other identities' sockets from its address.
        if (p.cooldown && cooldownMs > 0) deps.sockets.addressPlaced(p.cooldown.ip, p.record.user)
      }
    }
  }

  const unavailable = (): PlaceResult | null => {
    if (deps.closing() || deps.retry.degraded()) return unavailableResult()
    if (pending.length >= MAX_PENDING)
      return { ok: false, error: PlaceError.RateLimited, retryAfterMs: 1000, message: 'the relay is overloaded' }
    return null
  }

  // Exclusive sections run one after another: each starts when the one before has finished.
  let exclusiveTail: Promise<unknown> = Promise.resolve()
  const exclusive = <T>(fn: ExclusiveWork<T>): Promise<T> => {
    const run = exclusiveTail.then(() => runExclusive(fn))
    exclusiveTail = run.catch(() => {})
    return run
  }

  const runExclusive = async <T>(fn: ExclusiveWork<T>): Promise<T> => {
    paused = true
    try {
      timer?.()
      timer = null
      while (committing) await committing
      // Commit what was accepted before the pause, so that history is complete up to now.
      if (pending.length > 0) await runCommit(takePending())
      while (committing) await committing
      const { result, writes: restores, user, kind, attach } = await fn()
      let done: Promise<PlaceResult> = Promise.resolve({ ok: true, placedAt: now(), nextPlaceAt: now() })
      if (restores.length === 0 && attach) {
        // Nothing to write to the board: the attached writes go alone, still with commits paused.
        if (!(await appendDurably([], {}, undefined, attach))) throw new Error('writes were refused: the room closed')
      } else if (restores.length > 0) {
        // The commit that takes these restores (the next: nothing commits while paused) writes them.
        nextExtra = attach
        // Placements accepted during fn() were validated after this moment: they go after.
        done = new Promise((resolve) => {
          // concat, not unshift(...): a large rollback is beyond the engine's argument limit.
          pending = toPending(restores, user, kind, resolve, now()).concat(pending)
        })
      }
      paused = false
      schedule()
      const outcome = await done
      if (!outcome.ok) throw new Error(`writes were refused: ${outcome.error}`)
      return result
    } finally {
      paused = false
      schedule()
    }
  }

  const commitFollowed = async (
    records: readonly PlacementRecord[],
    meta: Record<string, number>,
    apply: () => DocConfig | null,
    applied: ((heldSeq: number) => void) | undefined,
  ) => {
    const config = apply()
    const update = deps.capture.take()
    const last = records[records.length - 1]
    if (last) lastSeq = last.seq
    // An edge's State whose records do not reach back to its history (relay/room-follow.ts): the
    // document holds seqs up to meta.docSeq that the history lacks.
    if (meta.docSeq !== undefined && meta.docSeq > lastSeq) lastSeq = meta.docSeq
    const docWrites = update ? history.docWrites(id, update, doc) : undefined
    const heldSeq = lastSeq
    lastCommitAt = now()
    // Broadcast before this edge's own durable write (issue 16; docs/PERFORMANCE.md "Scaling
    // out: where a placement's time goes through an edge"): the writer made the commit durable
    // before publishing it, so nothing a viewer sees here can be lost. If this edge dies before
    // its write, it re-follows the stream from its last durable stream seq at restart, and its
    // viewers resume on any other edge. What reads this edge's history waits for the write
    // meanwhile (the commit is in flight until then): resumes for the seqs broadcast
    // (relay/room-sync.ts catchUp), tile reads and new sync answers for the commit
    // (Room.settled, whenIdle). A changed descriptor goes out as a config piece, as on the
    // writer (acknowledged to nobody).
    broadcast(config ? [{ kind: 'config', config, done: () => {} }] : [], [...records], update, heldSeq)
    applied?.(heldSeq)
    if (!(await appendDurably(records, { ...meta, docSeq: heldSeq }, docWrites))) return false
    docSeq = heldSeq
    return true
  }

  const follow: CommitQueue['follow'] = async (records, meta, apply, applied) => {
    while (committing) await committing
    let ok = false
    const run = commitFollowed(records, meta, apply, applied).then((done) => {
      ok = done
    })
    await runTracked(run)
    return ok
  }

  /** Marks `run` as the commit in flight until it settles. */
  const runTracked = (run: Promise<void>): Promise<void> => {
    const tracked = run.finally(() => {
      committing = null
      releaseIdle()
      schedule()
    })
    committing = tracked
    return tracked
  }

  return {
    follow,
    unavailable,
    push: (p) => {
      pending.push(p)
      schedule()
    },
    pushWrites: (tiles, user, kind) =>
      new Promise((resolve) => {
        // A loop, not push(...): a fill of a million tiles is beyond the engine's argument limit.
        for (const p of toPending(tiles, user, kind, resolve, now())) pending.push(p)
        schedule()
      }),
    exclusive,
    committing: () => committing !== null,
    whenIdle: (fn) => {
      if (committing) waitingIdle.push(fn)
      else fn()
    },
    docSeq: () => docSeq,
    stop: async () => {
      timer?.()
      timer = null
      while (committing) await committing
    },
    failPending: () => {
      for (const p of pending) p.done({ ok: false, error: PlaceError.Unavailable, message: 'the relay is shutting down' })
      pending = []
      releaseIdle()
    },
  }
}
