/**
 * One board: its document (the relay is its only writer), its bitmap, the cooldowns, the
 * connected sockets, and the commit loop that turns placement intents into durable, broadcast
 * document updates.
 *
 * Commit order (docs/ARCHITECTURE.md): validate in memory -> append history (LevelDB batch) ->
 * one Yjs transaction -> store the update (y-leveldb) -> broadcast -> acknowledge. Nothing is
 * broadcast or acknowledged before it is durable, so a client never holds document content that
 * a crash could take from the relay. On start, history entries after the last stored update
 * (meta docSeq) are replayed into the document.
 */
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import type { Logger } from '../node-kit/log.ts'
import { type BoardConfig, checkBoardChange, isInsideBoard, parseShardKey, sameBoard } from '../shared/board.ts'
import {
  type DocConfig,
  overrideCountOf,
  readBoardBitmap,
  readDocConfig,
  replaceEpoch,
  replaceShard,
  shardKeysOf,
  writeDocConfig,
  writeTile,
} from '../shared/doc-schema.ts'
import { type Rect, validatePlacement } from '../shared/placement.ts'
import {
  encodeConfig,
  encodePresence,
  encodeSession,
  encodeTiles,
  isPlacementId,
  LiveMode,
  MAX_RESUME_TILES,
  MessageType,
  PLACEMENT_ID_REUSED,
  PlaceError,
  PlacementIdLimits,
  type PlaceResult,
} from '../shared/protocol.ts'
import { encodeTileValue, extractShardColors } from '../shared/tile-codec.ts'
import { createAddressBudget } from './address-budget.ts'
import { type CompactionLimits, pickShardsToCompact, shouldStartEpoch } from './compaction.ts'
import type { DocStore } from './doc-store.ts'
import { type AppendExtra, type HistoryStore, type PlacementRecord, RecordKind } from './history-store.ts'
import { limitKey } from './ip-address.ts'
import { openIpCooldowns } from './ip-cooldowns.ts'
import { createPlacementIds } from './placement-ids.ts'
import { createResumeReader } from './resume-reader.ts'
import { createSyncAnswers } from './sync-answers.ts'
import { canonicalStateVector, hasForeignContent, rotateClientId } from './yjs-internals.ts'

/** What the room needs of a connected socket. */
export type RoomConn = {
  /** Sends a binary frame; must not throw. */
  send: (frame: Uint8Array) => void
  /**
   * Holds this socket's frames until `uncork` (a commit's broadcast and its acknowledgements then
   * leave in one write: one system call per socket per commit instead of one per frame).
   */
  cork: () => void
  uncork: () => void
  /** Whether the socket opted in to Tessera's own frames (Presence, Session). */
  tessera: boolean
  /**
   * The identity this socket counts as in Presence: its placer's user on a `tessera=1` socket,
   * null otherwise (no identity, or a reader that is not a person's page: the snapshotter, a
   * y-websocket provider). One person with three tabs counts once.
   */
  user: string | null
  /** How commits reach it: Yjs update frames, or Tiles and Config frames. */
  live: LiveMode
  /** The client's address key (bans by address apply to it). */
  ip: string
  /**
   * A live=yjs reader that asked for cursors (`cursors=1`: the snapshotter): after each commit's
   * update and after its sync answer, a cursor frame (an empty Tiles frame: the last seq it holds).
   */
  cursors: boolean
}

/** A placement as a client asked for it (unchecked); `id`: its placement id, if it has one. */
export type PlaceIntent = { x: unknown; y: unknown; color: unknown; id?: unknown }

/** Who is placing, as the transport established it. */
export type Placer = { user: string; ip: string; isAdmin: boolean }

/** Current value of a tile with who placed it and when (null user: never placed). */
export type TileInfo = { x: number; y: number; color: number; user: string | null; placedAt: number | null }

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

export type Room = {
  readonly id: string
  /** The board's current configuration. */
  config: () => BoardConfig
  /** The board document (read it; only the room writes it). */
  readonly doc: Y.Doc
  /** Row-major colour indices, width * height; updated on every commit. */
  bitmap: () => Uint8Array
  /**
   * Validates a placement and, if valid, calls `done` once it is durable and broadcast (a
   * rejection calls it at once). Acknowledgements for one commit are called back to back while
   * every socket is corked, right after the broadcast. An intent with an `id` (the client's
   * placement id) that this identity used recently is not placed again: `done` gets the first
   * attempt's outcome (once it has one).
   */
  submit: (intent: PlaceIntent, who: Placer, done: (result: PlaceResult) => void) => void
  /** `submit` as a Promise. */
  place: (intent: PlaceIntent, who: Placer) => Promise<PlaceResult>
  /**
   * Writes tiles as the relay itself (admin fill, restores), without placement rules; resolves
   * once all are durable and broadcast. Throws on a tile outside the board or palette (a bug).
   */
  write: (tiles: readonly TileWrite[], user: string, kind: RecordKind) => Promise<PlaceResult>
  /**
   * Runs `fn` while no commit runs and after everything accepted before is committed, then
   * commits the writes it returns ahead of anything accepted meanwhile. For rollbacks: what fn
   * reads from history is then exactly the board's past. Sections run one at a time, in call order.
   */
  exclusive: <T>(fn: ExclusiveWork<T>) => Promise<T>
  /** Changes the board's settings live (grow-only sizes, appended colours); connected clients see the new descriptor. */
  updateConfig: (next: BoardConfig) => Promise<{ ok: true; board: BoardConfig } | { ok: false; error: string }>
  /** Earliest time (ms) the user may place again; 0 if now. */
  nextPlaceAt: (user: string) => number
  /** A tile's current value, who placed it and when. */
  tileInfo: (x: number, y: number) => Promise<TileInfo>
  /**
   * Answers a client's sync step 1: a sync step 2 frame (and, for a live=tiles socket, the cursor
   * after it), followed by the commits made since that answer was encoded, all durable. Answers
   * are shared: the same state vector costs one encoding however many sockets send it
   * (relay/sync-answers.ts).
   */
  syncAnswer: (stateVector: Uint8Array, live: LiveMode, cursor?: boolean) => Promise<Uint8Array[]>
  /** The seq of the last committed tile write (0: none). */
  lastSeq: () => number
  /**
   * A Tiles frame with every tile write after history seq `since` that the document holds, for a
   * live=tiles socket resuming, as the fragments of that one message (relay/resume-reader.ts);
   * null when that cannot be answered from history (more than MAX_RESUME_TILES behind, or a seq
   * this board never reached: its data was reset).
   */
  catchUp: (since: number) => Promise<Uint8Array[] | null>
  /** The board's document config (what a Config frame carries). */
  docConfig: () => DocConfig
  /** Whether an update holds content (structs or deletions) the relay's document lacks. */
  hasForeignContent: (update: Uint8Array) => boolean
  addConn: (conn: RoomConn) => void
  removeConn: (conn: RoomConn) => void
  /** The Session frame for a socket: its user, when it may place next, and its ban if any. */
  sessionFrame: (user: string, ip: string) => Uint8Array
  /** Sends every identified socket its Session frame again (after a ban or an unban). */
  refreshSessions: () => void
  /** People with the board open: distinct identities (`RoomConn.user`) among the sockets. */
  online: () => number
  /** Sockets connected now, people or not. */
  sockets: () => number
  /** Sends Presence to opted-in sockets (heartbeat). */
  heartbeat: () => void
  /** Waits for the commit in flight, then stops committing. */
  close: () => Promise<void>
}

export type RoomDeps = {
  board: BoardConfig
  persistence: DocStore
  history: HistoryStore
  log: Logger
  /** Minimum ms between commits (0 = group commit only). */
  tickMs: number
  /** Ms between writes of committed document updates to the document store (default DOC_FLUSH_MS). */
  docFlushMs?: number
  /** Also apply the cooldown per client address; `pseudonym` names an address on disk (relay/ip-cooldowns.ts). */
  perIpCooldown: false | { pseudonym: (ip: string) => string }
  /**
   * Placements one address may make per cooldown window of this board, across identities
   * (relay/address-budget.ts; 0 or absent = no budget). Env IP_PLACEMENTS_PER_COOLDOWN.
   */
  ipPlacementsPerCooldown?: number
  compaction: CompactionLimits
  /** Relay clock, ms since the Unix epoch. */
  now: () => number
  /** Bans and protected rectangles (none if absent). */
  moderation?: ModerationView
}

/** What to give back if a placement's commit fails: the cooldown it reserved. */
type CooldownUndo = { prevUser: number | undefined; prevIp: number | undefined; ip: string; at: number }

/** Work queued for the next commit, in order. */
type Pending =
  | { kind: 'write'; record: PlacementRecord; cooldown?: CooldownUndo | undefined; done: (r: PlaceResult) => void }
  | { kind: 'config'; config: DocConfig; done: (r: PlaceResult) => void }

/** A tile write by the relay itself (admin fill, rollback restore). */
export type TileWrite = { x: number; y: number; color: number; ref?: number }

/** Moderation state the room consults on every placement. */
export type ModerationView = {
  /** The reason an identity (or its address) is banned, or null. */
  banReasonOf: (user: string, ip: string) => string | null
  /** Rectangles of a board where only admins may place. */
  protectedRects: (board: string) => readonly Rect[]
}

/** How often committed document updates are written to the document store (y-leveldb) by default, ms. */
export const DOC_FLUSH_MS = 1_000

const tileValueOf = (r: PlacementRecord): number => encodeTileValue(r.x, r.y, r.color)

/**
 * Bytes of committed updates merged into one document store write at most (a single larger
 * update is written alone). Merging took 1-2 ms per KB of a fill's updates on the test machine
 * (60 KB: 67-138 ms), so a slice holds the thread for tens of ms at most.
 */
export const FLUSH_SLICE_BYTES = 32 * 1024

/** Consecutive runs of updates of at most FLUSH_SLICE_BYTES each (at least one update each). */
const flushSlices = (queued: readonly { bytes: Uint8Array }[]): Uint8Array[][] => {
  const slices: Uint8Array[][] = []
  let slice: Uint8Array[] = []
  let bytes = 0
  for (const { bytes: u } of queued) {
    if (slice.length > 0 && bytes + u.length > FLUSH_SLICE_BYTES) {
      slices.push(slice)
      slice = []
      bytes = 0
    }
    slice.push(u)
    bytes += u.length
  }
  if (slice.length > 0) slices.push(slice)
  return slices
}

/** Pending placements beyond this are refused (back-pressure) rather than queued without bound. */
const MAX_PENDING = 200_000

const updateFrame = (update: Uint8Array): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Sync)
  syncProtocol.writeUpdate(enc, update)
  return encoding.toUint8Array(enc)
}

/** Opens a board: loads its document, replays history not yet in it, restores cooldowns. */
export const openRoom = async (deps: RoomDeps): Promise<Room> => {
  const { persistence, history, log, now } = deps
  const id = deps.board.id
  const doc = await persistence.getYDoc(id)

  // Capture every update the room's own transactions produce.
  let captured: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => {
    captured.push(update)
  })
  // Committed updates the document store does not hold yet (written by a commit, not yet by
  // flushDoc when the relay stopped): applied now, captured, and stored with the start-up update.
  const storedUpTo = await history.getMeta(id, 'docUpdate', 0)
  let updateSeq = Math.max(storedUpTo, await history.lastUpdate(id))
  for await (const u of history.readUpdates(id, storedUpTo)) Y.applyUpdate(doc, u.bytes)
  const takeCaptured = (): Uint8Array | null => {
    const updates = captured
    captured = []
    if (updates.length === 0) return null
    return updates.length === 1 ? (updates[0] as Uint8Array) : Y.mergeUpdates(updates)
  }

  let degraded = false
  let closing = false
  const storeDurably = async (update: Uint8Array): Promise<void> => {
    // Writes to the document store (at start, and flushDoc in the background). Retries until
    // the disk recovers, reopening the database between attempts (LevelDB's write errors are
    // sticky); placements are refused meanwhile, as while a history write fails.
    for (let attempt = 0; ; attempt++) {
      if (await persistence.storeUpdate(id, update)) {
        if (attempt > 0) log.warn(`board ${id}: document store recovered after ${attempt} failed attempts`)
        degraded = false
        return
      }
      degraded = true
      if (attempt === 0) log.error(`board ${id}: cannot store a document update; placements are refused until it succeeds`)
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** Math.min(attempt, 5))))
      if (closing) throw new Error('room closed while the document store was failing')
      await persistence.reopen().catch((err: Error) => log.error(`board ${id}: reopening the document store failed:`, err.message))
    }
  }

  /**
   * Appends a commit to the history, retrying until the disk recovers (LevelDB's write errors
   * are sticky; the store reopens the database on the next attempt). The commit is neither
   * broadcast nor acknowledged meanwhile, and new placements are refused. False if the room
   * closes first.
   */
  const appendDurably = async (
    records: readonly PlacementRecord[],
    meta: Record<string, number>,
    update: { n: number; bytes: Uint8Array } | undefined,
    extra?: AppendExtra,
  ): Promise<boolean> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await history.append(id, records, meta, update, extra)
        if (attempt > 0) log.warn(`board ${id}: history write recovered after ${attempt} failed attempts`)
        degraded = false
        return true
      } catch (err) {
        degraded = true
        if (attempt === 0) log.error(`board ${id}: history write failed; placements are refused until it succeeds:`, (err as Error).message)
      }
      if (closing) return false
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** Math.min(attempt, 5))))
      if (closing) return false
    }
  }

  // Document updates committed (durable in the history) but not yet in the document store.
  // They reach it merged, every DOC_FLUSH_MS, off the commit path; until then a restart applies
  // them from the history (the same updates: clients that received them stay in step).
  let docQueue: { n: number; bytes: Uint8Array }[] = []
  let docTimer: NodeJS.Timeout | null = null
  let docFlushing: Promise<void> | null = null
  const queueDocUpdate = (u: { n: number; bytes: Uint8Array }) => {
    docQueue.push(u)
    if (!docTimer && !docFlushing) docTimer = setTimeout(flushDoc, deps.docFlushMs ?? DOC_FLUSH_MS)
  }
  const flushDoc = (): Promise<void> => {
    if (docTimer) clearTimeout(docTimer)
    docTimer = null
    if (docFlushing) return docFlushing
    const queued = docQueue
    docQueue = []
    const upTo = queued[queued.length - 1]?.n
    if (upTo === undefined) return Promise.resolve()
    docFlushing = (async () => {
      // Merged a slice at a time (each stored before the next is merged, so the thread serves
      // sockets in between): one merge of a second's commits during a large rollback (hundreds
      // of updates) held the thread 100-330 ms, and every placement with it.
      for (const slice of flushSlices(queued)) {
        await storeDurably(slice.length === 1 ? (slice[0] as Uint8Array) : Y.mergeUpdates(slice))
      }
      // Every COMPACT_EVERY stores, the live document's state replaces them (relay/doc-store.ts).
      // Only between commits: during one, the document holds content not yet durable.
      if (persistence.needsCompaction(id) && !committing && !closing) {
        if (!(await persistence.replaceWith(id, Y.encodeStateAsUpdate(doc)))) log.warn(`board ${id}: document store compaction failed`)
      }
      // If this fails the updates stay in the history and are applied again at the next open
      // (applying an update twice changes nothing).
      await history
        .dropUpdates(id, upTo, { docUpdate: upTo })
        .catch((err: Error) => log.warn(`board ${id}: dropping stored updates:`, err.message))
    })()
      .catch((err: Error) => log.warn(`board ${id}: document store write abandoned (the history keeps it):`, err.message))
      .finally(() => {
        docFlushing = null
        if (docQueue.length > 0 && !closing && !docTimer) docTimer = setTimeout(flushDoc, deps.docFlushMs ?? DOC_FLUSH_MS)
      })
    return docFlushing
  }

  // Which configuration holds: the stored descriptor carries live (admin) changes, so it wins,
  // unless the configuration given at start changed since the previous start (the operator
  // edited it): then the new start configuration is applied, if it loses no tiles.
  const stored = readDocConfig(doc)
  const previousStart = (await history.getJson(id, 'startConfig')) as BoardConfig | undefined
  const startChanged = !previousStart || !sameBoard(previousStart, deps.board)
  let board: BoardConfig = deps.board
  if (stored) {
    const { version: _version, ...storedBoard } = stored
    if (startChanged) {
      const reason = checkBoardChange(storedBoard, deps.board)
      if (reason) throw new Error(`board ${id}: the configuration does not match the stored board: ${reason}`)
    } else {
      board = storedBoard
    }
  }
  await history.putJson(id, 'startConfig', deps.board)
  let configVersion = stored?.version ?? 0
  const width0 = stored?.width ?? board.width
  const height0 = stored?.height ?? board.height
  let bitmap = readBoardBitmap(doc, width0, height0)
  if (width0 !== board.width || height0 !== board.height) bitmap = regrow(bitmap, width0, height0, board.width, board.height)

  // Replay history entries that the stored document does not hold yet.
  let docSeq = await history.getMeta(id, 'docSeq', 0)
  let lastSeq = await history.lastSeq(id)
  let epochReplacements = await history.getMeta(id, 'epochReplacements', 0)
  doc.transact(() => {
    if (!stored || !sameBoard(stored, board)) {
      configVersion += 1
      writeDocConfig(doc, { ...board, version: configVersion } satisfies DocConfig)
    }
  })
  let replayed = 0
  const replayBatch: PlacementRecord[] = []
  const flushReplay = () => {
    doc.transact(() => {
      for (const r of replayBatch) {
        writeTile(doc, board.shardSize, r.x, r.y, r.color)
        bitmap[r.y * board.width + r.x] = r.color
      }
    })
    replayed += replayBatch.length
    replayBatch.length = 0
  }
  for await (const r of history.readAfter(id, docSeq)) {
    if (r.x < board.width && r.y < board.height) replayBatch.push(r)
    if (replayBatch.length >= 10_000) flushReplay()
  }
  flushReplay()
  const startup = takeCaptured()
  if (startup) await storeDurably(startup)
  if (updateSeq > storedUpTo) await history.dropUpdates(id, updateSeq, { docUpdate: updateSeq })
  if (replayed > 0) log.info(`board ${id}: replayed ${replayed} placements from history after seq ${docSeq}`)
  docSeq = lastSeq

  // Writes per shard since its base (live keys only after a restart: tombstones are not counted).
  const writes = new Map<string, number>()
  let totalWrites = 0
  for (const key of shardKeysOf(doc)) {
    const n = overrideCountOf(doc, key)
    writes.set(key, n)
    totalWrites += n
  }

  // Cooldowns: the newest placement of each identity within the cooldown window (from the
  // history), and of each address if PER_IP_COOLDOWN (saved apart: the history has no addresses).
  const lastPlaced = new Map<string, number>()
  const addressBudget = createAddressBudget(deps.ipPlacementsPerCooldown ?? 0, () => board.cooldownMs)
  const lastPlacedByIp = deps.perIpCooldown
    ? await openIpCooldowns({ history, board: id, windowMs: () => board.cooldownMs, pseudonym: deps.perIpCooldown.pseudonym, now })
    : null
  // Placement ids: those of the placements within the cooldown and the retry window after it,
  // so that a retry after a crash (kill -9 between the durable commit and the acknowledgement)
  // gets the first outcome, not a second placement or a bare `cooldown`. Refusals are not in the
  // history: after a restart a retry of a refused placement is judged afresh (it changed nothing).
  const placementIds = createPlacementIds(PlacementIdLimits)
  const idWindowMs = () => board.cooldownMs + PlacementIdLimits.retryWindowMs
  {
    const t = now()
    const cooldownStart = t - board.cooldownMs
    const idStart = t - idWindowMs()
    const withIds: PlacementRecord[] = []
    for await (const r of history.readBackwards(id)) {
      if (r.placedAt <= idStart || (r.placedAt <= cooldownStart && withIds.length >= PlacementIdLimits.perBoard)) break
      if (r.kind !== RecordKind.Placement) continue
      if (r.placedAt > cooldownStart && !lastPlaced.has(r.user)) lastPlaced.set(r.user, r.placedAt)
      if (r.id !== undefined && withIds.length < PlacementIdLimits.perBoard) withIds.push(r)
    }
    // Oldest first, as they were added when placed (an identity keeps its newest ids).
    for (let i = withIds.length - 1; i >= 0; i--) {
      const r = withIds[i] as PlacementRecord
      const outcome: PlaceResult = { ok: true, placedAt: r.placedAt, nextPlaceAt: r.placedAt + board.cooldownMs }
      placementIds.add({ user: r.user, id: r.id as string, x: r.x, y: r.y, color: r.color, at: r.placedAt, outcome })
    }
  }
  const sweep = setInterval(() => {
    const cutoff = now() - board.cooldownMs
    for (const [k, t] of lastPlaced) if (t <= cutoff) lastPlaced.delete(k)
    lastPlacedByIp?.sweep(cutoff)
    placementIds.sweep(now() - idWindowMs())
  }, 60_000)
  sweep.unref()

  // Struct array lengths of retired client IDs when last trimmed (rotateClientId).
  const trimmedAt = new Map<number, number>()
  const conns = new Set<RoomConn>()
  // The identified sockets of each identity (a person's tabs): told of each other's placements.
  const connsByUser = new Map<string, Set<RoomConn>>()
  let pending: Pending[] = []
  let committing: Promise<void> | null = null
  /** Cancels the scheduled commit, if one is scheduled. */
  let timer: (() => void) | null = null
  let paused = false
  let lastCommitAt = 0
  /** History writes for the next commit's batch (set by an exclusive section with its tiles). */
  let nextExtra: AppendExtra | undefined
  let waitingSyncs: Array<() => void> = []
  const answers = createSyncAnswers()
  const resumes = createResumeReader(async function* (afterSeq) {
    for await (const r of history.readAfter(id, afterSeq)) yield tileValueOf(r)
  })

  const schedule = () => {
    if (committing || timer || closing || paused || pending.length === 0) return
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
      releaseSyncs()
      schedule()
    })
    committing = run
    return run
  }

  const releaseSyncs = () => {
    const waiting = waitingSyncs
    waitingSyncs = []
    for (const answer of waiting) answer()
  }

  const compact = (touched: Set<string>) => {
    const picked = pickShardsToCompact(writes, touched, totalWrites, deps.compaction)
    for (const key of picked) {
      const s = parseShardKey(key)
      if (!s) continue
      replaceShard(doc, board.shardSize, s.sx, s.sy, extractShardColors(bitmap, board.width, board.height, board.shardSize, s.sx, s.sy))
      totalWrites -= writes.get(key) ?? 0
      writes.set(key, 0)
      epochReplacements += 1
    }
    if (shouldStartEpoch(epochReplacements, writes.size)) {
      const shards = [...writes.keys()].flatMap((key) => {
        const s = parseShardKey(key)
        return s ? [{ ...s, colors: extractShardColors(bitmap, board.width, board.height, board.shardSize, s.sx, s.sy) }] : []
      })
      replaceEpoch(doc, board.shardSize, shards)
      for (const key of writes.keys()) writes.set(key, 0)
      totalWrites = 0
      log.info(`board ${id}: new epoch after ${epochReplacements} shard compactions`)
      epochReplacements = 0
    }
  }

  const commit = async (batch: Pending[]) => {
    if (batch.length === 0) return
    const records: PlacementRecord[] = []
    for (const p of batch) if (p.kind === 'write') records.push(p.record)
    // Seqs are given here, not on acceptance: the history stays contiguous (the commit below is
    // retried until it is durable), and live Tiles frames are checked for gaps by their seqs.
    for (const r of records) r.seq = ++lastSeq
    const touched = new Set<string>()
    let written = 0
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
        writes.set(key, (writes.get(key) ?? 0) + 1)
        touched.add(key)
        written += 1
      }
      totalWrites += written
      compact(touched)
    })
    const update = takeCaptured()
    const last = records[records.length - 1]
    // One durable write: the records with the commit's document update (the document store
    // receives it in the background, flushDoc). docSeq: the records up to it are in the document.
    const kept = update ? { n: ++updateSeq, bytes: update } : undefined
    const extra = nextExtra
    nextExtra = undefined
    if (!(await appendDurably(records, { docSeq: last?.seq ?? docSeq, epochReplacements }, kept, extra))) {
      // Closing while the disk fails: nothing was written; the document is dropped with the room.
      for (const p of batch) {
        if (p.kind === 'write' && p.cooldown) restoreCooldown(p.record.user, p.cooldown)
        p.done({ ok: false, error: PlaceError.Unavailable, message: 'the relay cannot write to its storage' })
      }
      return
    }
    if (last) docSeq = last.seq
    if (kept) queueDocUpdate(kept)
    lastCommitAt = now()
    // Broadcast, then acknowledge, with every socket corked: each socket gets the commit's
    // update and its own acknowledgements in one write.
    const tilesFrame = records.length > 0 ? encodeTiles(records[0]?.seq ?? 0, records.map(tileValueOf)) : null
    let lastConfig: DocConfig | null = null
    for (const p of batch) if (p.kind === 'config') lastConfig = p.config
    const configFrame = lastConfig ? encodeConfig(lastConfig) : null
    let yjsFrame: Uint8Array | null = null
    let cursorFrame: Uint8Array | null = null
    const corked = [...conns]
    for (const conn of corked) conn.cork()
    try {
      for (const conn of corked) {
        if (conn.live === LiveMode.Tiles) {
          // Config first: tiles of a grown board must find it grown.
          if (configFrame) conn.send(configFrame)
          if (tilesFrame) conn.send(tilesFrame)
        } else if (update) {
          yjsFrame ??= updateFrame(update)
          conn.send(yjsFrame)
          if (conn.cursors) {
            cursorFrame ??= encodeTiles(docSeq + 1, [])
            conn.send(cursorFrame)
          }
        }
      }
      // Cached sync answers follow the board: this commit, as these sockets received it.
      if (answers.size() > 0) {
        if (update) yjsFrame ??= updateFrame(update)
        answers.commit({
          yjs: yjsFrame,
          tiles: configFrame && tilesFrame ? [configFrame, tilesFrame] : configFrame ? [configFrame] : tilesFrame ? [tilesFrame] : [],
        })
      }
      for (const p of batch) {
        if (p.kind === 'config') p.done({ ok: true, placedAt: lastCommitAt, nextPlaceAt: lastCommitAt })
        else {
          // Only an identity's placement reserved a cooldown; admin places and writes have none.
          const { placedAt } = p.record
          p.done({ ok: true, placedAt, nextPlaceAt: p.cooldown ? placedAt + board.cooldownMs : placedAt })
          // The identity's other tabs learn that its cooldown started (their Place buttons count
          // down instead of offering a placement the relay would refuse).
          const tabs = p.cooldown && board.cooldownMs > 0 ? connsByUser.get(p.record.user) : undefined
          if (tabs && tabs.size > 1) {
            const frame = encodeSession(p.record.user, placedAt + board.cooldownMs)
            for (const conn of tabs) conn.send(frame)
          }
        }
      }
    } finally {
      for (const conn of corked) conn.uncork()
    }
  }

  const restoreCooldown = (user: string, c: CooldownUndo) => {
    if (c.prevUser === undefined) lastPlaced.delete(user)
    else lastPlaced.set(user, c.prevUser)
    if (c.prevIp === undefined) lastPlacedByIp?.delete(c.ip)
    else lastPlacedByIp?.set(c.ip, c.prevIp)
    addressBudget.giveBack(c.ip, c.at)
  }

  const unavailable = (): PlaceResult | null => {
    if (closing || degraded) return { ok: false, error: PlaceError.Unavailable, message: 'the relay cannot write to its storage' }
    if (pending.length >= MAX_PENDING)
      return { ok: false, error: PlaceError.RateLimited, retryAfterMs: 1000, message: 'the relay is overloaded' }
    return null
  }

  /** A record as accepted: seq 0 until the commit that writes it numbers it. */
  const newRecord = (
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

  const submit: Room['submit'] = (intent, who, done) => {
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
    const refused = unavailable()
    if (refused) return done(refused)
    const t = now()
    const prevUser = lastPlaced.get(who.user)
    // The per-address cooldown keys like every per-address limit: an IPv6 host by its /64.
    const ipKey = limitKey(who.ip)
    const prevIp = lastPlacedByIp?.get(ipKey)
    const last = lastPlacedByIp ? Math.max(prevUser ?? -Infinity, prevIp ?? -Infinity) : prevUser
    const verdict = validatePlacement(board, intent, {
      now: t,
      lastPlacedAt: last === -Infinity ? undefined : last,
      isAdmin: who.isAdmin,
      banReason: deps.moderation?.banReasonOf(who.user, who.ip) ?? null,
      protectedRects: deps.moderation?.protectedRects(id),
    })
    if (!verdict.ok) return done(verdict)
    let cooldown: CooldownUndo | undefined
    if (!who.isAdmin) {
      // Only a placement that would otherwise succeed spends the address's budget.
      const wait = addressBudget.take(ipKey, t)
      if (wait > 0) {
        return done({
          ok: false,
          error: PlaceError.RateLimited,
          retryAfterMs: wait,
          message: `this address placed ${deps.ipPlacementsPerCooldown} tiles on this board within one cooldown (the per-address budget)`,
        })
      }
      // Reserve the cooldown now, so that a second intent in the same tick is refused.
      cooldown = { prevUser, prevIp, ip: ipKey, at: t }
      lastPlaced.set(who.user, t)
      lastPlacedByIp?.set(ipKey, t)
    }
    const record = newRecord(verdict.x, verdict.y, verdict.color, who.user, RecordKind.Placement, 0, t, placementId)
    pending.push({ kind: 'write', record, cooldown, done })
    schedule()
  }

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

  const write: Room['write'] = (tiles, user, kind) => {
    const refused = unavailable()
    if (refused) return Promise.resolve(refused)
    if (tiles.length === 0) return Promise.resolve({ ok: true, placedAt: now(), nextPlaceAt: now() })
    for (const w of tiles) {
      if (!isInsideBoard(board, w.x, w.y) || !Number.isInteger(w.color) || w.color < 0 || w.color >= board.palette.length) {
        throw new Error(`room.write: tile ${JSON.stringify(w)} is not valid on board ${id}`)
      }
    }
    return new Promise((resolve) => {
      // A loop, not push(...): a fill of a million tiles is beyond the engine's argument limit.
      for (const p of toPending(tiles, user, kind, resolve, now())) pending.push(p)
      schedule()
    })
  }

  // Exclusive sections run one after another: each starts when the one before has finished.
  let exclusiveTail: Promise<unknown> = Promise.resolve()
  const exclusive: Room['exclusive'] = <T>(fn: ExclusiveWork<T>) => {
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

  const updateConfig: Room['updateConfig'] = async (next) => {
    const reason = checkBoardChange(board, next)
    if (reason) return { ok: false, error: reason }
    if (next.width !== board.width || next.height !== board.height) {
      bitmap = regrow(bitmap, board.width, board.height, next.width, next.height)
    }
    board = next
    configVersion += 1
    const config: DocConfig = { ...next, version: configVersion }
    await new Promise<PlaceResult>((resolve) => {
      pending.push({ kind: 'config', config, done: resolve })
      schedule()
    })
    return { ok: true, board: next }
  }

  // O(sockets) per count: counted at most once a second (coalesced) and once per heartbeat.
  const nextPlaceAt = (user: string): number => {
    const last = lastPlaced.get(user)
    return last === undefined || last + board.cooldownMs <= now() ? 0 : last + board.cooldownMs
  }
  const sessionFrame = (user: string, ip: string) => encodeSession(user, nextPlaceAt(user), deps.moderation?.banReasonOf(user, ip) ?? null)
  const people = (): number => {
    const users = new Set<string>()
    for (const conn of conns) if (conn.user !== null) users.add(conn.user)
    return users.size
  }
  const presenceFrame = () => encodePresence(people())
  const broadcastPresence = () => {
    const frame = presenceFrame()
    for (const conn of conns) if (conn.tessera) conn.send(frame)
  }
  let presenceTimer: NodeJS.Timeout | null = null
  const presenceChanged = () => {
    // Coalesce joins and leaves: at most one Presence frame per second.
    if (presenceTimer) return
    presenceTimer = setTimeout(() => {
      presenceTimer = null
      broadcastPresence()
    }, 1000)
    presenceTimer.unref()
  }

  /** Who placed a record's colour: a Restore record points at the placement it restored. */
  const ownerOf = async (r: PlacementRecord): Promise<{ user: string | null; placedAt: number | null }> => {
    if (r.kind !== RecordKind.Restore) return { user: r.user, placedAt: r.placedAt }
    if (r.ref === 0) return { user: null, placedAt: null }
    const [orig] = await history.getRecords(id, [r.ref])
    return orig ? { user: orig.user, placedAt: orig.placedAt } : { user: null, placedAt: null }
  }

  return {
    id,
    config: () => board,
    doc,
    bitmap: () => bitmap,
    submit,
    place: (intent, who) => new Promise((resolve) => submit(intent, who, resolve)),
    write,
    exclusive,
    updateConfig,
    nextPlaceAt,
    tileInfo: async (x, y) => {
      const latest = await history.tileLatest(id, x, y)
      if (!latest) return { x, y, color: bitmap[y * board.width + x] ?? 0, user: null, placedAt: null }
      return { x, y, color: latest.color, ...(await ownerOf(latest)) }
    },
    docConfig: () => ({ ...board, version: configVersion }),
    catchUp: async (since) => {
      // The document holds up to docSeq now; later records reach the socket as live frames.
      const upTo = docSeq
      if (!Number.isSafeInteger(since) || since < 0 || since > upTo || upTo - since > MAX_RESUME_TILES) return null
      return resumes.read(since, upTo)
    },
    lastSeq: () => docSeq,
    syncAnswer: (asked, live, cursor = false) => {
      let stateVector: Uint8Array
      try {
        stateVector = canonicalStateVector(doc, asked)
      } catch (err) {
        return Promise.reject(err)
      }
      // The cursor after a live=yjs answer: the seq the answer brings the reader to. Taken in the
      // same turn as the answer's frames (a cached answer holds every commit up to docSeq).
      const withCursor = (frames: Uint8Array[]): Uint8Array[] =>
        cursor && live === LiveMode.Yjs ? [...frames, encodeTiles(docSeq + 1, [])] : frames
      const encoded = (): Uint8Array[] => {
        const cached = answers.get(stateVector, live, performance.now())
        if (cached) return cached
        const t0 = performance.now()
        const enc = encoding.createEncoder()
        encoding.writeVarUint(enc, MessageType.Sync)
        syncProtocol.writeSyncStep2(enc, doc, stateVector)
        const frame = encoding.toUint8Array(enc)
        const t1 = performance.now()
        answers.put(stateVector, frame, docSeq, t1, t1 - t0)
        return answers.get(stateVector, live, t1) as Uint8Array[]
      }
      const answer = () => withCursor(encoded())
      // A cached answer holds only durable commits. A new one is encoded from the document, which
      // holds content that is not durable yet while a commit is between its transaction and its
      // durable write: encode it after that.
      const cached = answers.get(stateVector, live, performance.now())
      if (cached) return Promise.resolve(withCursor(cached))
      if (!committing) {
        try {
          return Promise.resolve(answer())
        } catch (err) {
          return Promise.reject(err)
        }
      }
      return new Promise((resolve, reject) =>
        waitingSyncs.push(() => {
          try {
            resolve(answer())
          } catch (err) {
            reject(err)
          }
        }),
      )
    },
    hasForeignContent: (update) => hasForeignContent(doc, update),
    addConn: (conn) => {
      conns.add(conn)
      if (conn.user !== null) {
        const mine = connsByUser.get(conn.user) ?? new Set<RoomConn>()
        mine.add(conn)
        connsByUser.set(conn.user, mine)
      }
      presenceChanged()
    },
    removeConn: (conn) => {
      if (!conns.delete(conn)) return
      if (conn.user !== null) {
        const mine = connsByUser.get(conn.user)
        mine?.delete(conn)
        if (mine?.size === 0) connsByUser.delete(conn.user)
      }
      presenceChanged()
    },
    sessionFrame,
    refreshSessions: () => {
      for (const conn of conns) if (conn.user !== null) conn.send(sessionFrame(conn.user, conn.ip))
    },
    online: people,
    sockets: () => conns.size,
    heartbeat: broadcastPresence,
    close: async () => {
      closing = true
      timer?.()
      timer = null
      clearInterval(sweep)
      if (presenceTimer) clearTimeout(presenceTimer)
      while (committing) await committing
      // The document store receives what the history holds, so that the next start has nothing
      // to apply (if this fails, the next start applies it from the history).
      while (docFlushing || docQueue.length > 0) await flushDoc()
      for (const p of pending) {
        p.done({ ok: false, error: PlaceError.Unavailable, message: 'the relay is shutting down' })
      }
      pending = []
      releaseSyncs()
      await lastPlacedByIp?.close().catch((err: Error) => log.warn(`board ${id}: per-address cooldowns not saved: ${err.message}`))
      doc.destroy()
    },
  }
}

/** Copies a bitmap into a larger one (the board grew). */
const regrow = (old: Uint8Array, w0: number, h0: number, w1: number, h1: number): Uint8Array => {
  const next = new Uint8Array(w1 * h1)
  for (let y = 0; y < Math.min(h0, h1); y++) next.set(old.subarray(y * w0, y * w0 + Math.min(w0, w1)), y * w1)
  return next
}
