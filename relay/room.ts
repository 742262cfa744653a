/**
 * One board, as the relay serves it: this file is the composition root that opens the pieces
 * and wires them into the Room API. Where a placement goes, file by file:
 *
 *   relay/place-intake.ts   validated in memory, its cooldown reserved (relay/cooldowns.ts)
 *   relay/commit-queue.ts   queued; at the next commit numbered (history seqs), written with the
 *                           board's shards in one Yjs transaction (relay/shard-compactor.ts),
 *                           appended with that transaction's update (the stored document,
 *                           relay/doc-updates.ts) to the history in one LevelDB batch (retried
 *                           until durable: relay/retry-durably.ts), then acknowledged
 *   relay/fan-out.ts        broadcast to every socket, at once or coalesced with the commits
 *                           after it within a latency budget, framed once for all sockets
 *
 * Nothing is broadcast or acknowledged before it is durable in the history, so a client never
 * holds document content that a crash could take from the relay. On open the document is loaded
 * from the history and (relay/room-open.ts) history records after its docSeq, if any, are
 * replayed into it. Sockets, Presence and Session frames: relay/room-sockets.ts; sync answers
 * and resumes: relay/room-sync.ts; an edge relay's commits, from the writer's stream:
 * relay/room-follow.ts; every touch of Yjs internals: relay/yjs-internals.ts.
 */
import * as Y from 'yjs'
import type { Logger } from '../node-kit/log.ts'
import type { BoardConfig } from '../shared/board.ts'
import type { DocConfig } from '../shared/doc-schema.ts'
import { type PlacementRecord, RecordKind } from '../shared/placement-record.ts'
import { type LiveMode, PlacementIdLimits, type PlaceResult } from '../shared/protocol.ts'
import type { AddressCooldown } from '../shared/stream-messages.ts'
import { createBoardState } from './board-state.ts'
import { type CommitQueue, createCommitQueue, type ExclusiveWork, type TileWrite } from './commit-queue.ts'
import type { CompactionLimits } from './compaction.ts'
import { openCooldowns } from './cooldowns.ts'
import { createFanOut } from './fan-out.ts'
import type { HistoryStore } from './history-store.ts'
import { createPlaceIntake, type ModerationView, type PlaceIntent, type Placer } from './place-intake.ts'
import { createPlacementIds } from './placement-ids.ts'
import type { BoardPresence } from './presence-exchange.ts'
import { createRetryDurably } from './retry-durably.ts'
import { createRoomFollow, type HistoryFloor, type RoomFollow } from './room-follow.ts'
import { openRoomDoc } from './room-open.ts'
import { createRoomSockets, type RoomConn } from './room-sockets.ts'
import { createRoomSync } from './room-sync.ts'
import { createShardCompactor } from './shard-compactor.ts'
import { createSyncAnswers } from './sync-answers.ts'
import { captureUpdates } from './update-capture.ts'
import { hasForeignContent } from './yjs-internals.ts'

export type { ExclusiveWork, TileWrite } from './commit-queue.ts'
export type { ModerationView, PlaceIntent, Placer } from './place-intake.ts'
export type { RoomConn } from './room-sockets.ts'

/** A tile's current value, who placed it and when (null user: never placed). */
export type TileInfo = { x: number; y: number; color: number; user: string | null; placedAt: number | null }

export type Room = {
  readonly id: string
  /** The board's current configuration. */
  config: () => BoardConfig
  /** The board document (read it; only the room writes it). */
  readonly doc: Y.Doc
  /** Row-major colour indices, width * height; updated on every commit. */
  bitmap: () => Uint8Array
  /**
   * Validates a placement and, if valid, calls `done` once it is durable (a rejection calls it
   * at once); its broadcast leaves with it or within the fan-out's latency budget
   * (relay/fan-out.ts). Acknowledgements for one commit are called back to back while every
   * socket is corked. An intent with an `id` (the client's
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
  /**
   * A tile's current value, who placed it and when (as this relay's history tells: an edge whose
   * history starts after the writer's, Room.historyFrom, may not hold the last placement, and
   * relay/tile-reads.ts does not ask it then).
   */
  tileInfo: (x: number, y: number) => Promise<TileInfo>
  /**
   * The seq up to which this relay's history may lack records: 0, except on an edge that
   * bootstrapped from the writer's State (relay/room-follow.ts). History reads that reach it are
   * not answered from here.
   */
  historyFrom: () => number
  /**
   * Answers a client's sync step 1: a sync step 2 frame (and, for a live=tiles socket, the cursor
   * after it), followed by the commits broadcast since that answer was encoded, all durable (on
   * an edge, durable on the writer: a followed commit is broadcast before this edge's own write;
   * a new answer is encoded once that write is done). Answers
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
  /** People with the board open: distinct identities (`RoomConn.user`) among the sockets (scaled out: across relays). */
  online: () => number
  /** Sockets connected now, people or not. */
  sockets: () => number
  /** Sends Presence to opted-in sockets (heartbeat). */
  heartbeat: () => void
  /** Waits for the commit in flight, then stops committing. */
  close: () => Promise<void>
  /**
   * An edge relay's room (RoomDeps.follower) applies the writer's Commit messages up to number
   * `streamSeq` of the board's stream, in one commit of its own: the records it lacks and the
   * updates are made durable (with streamSeq, where the edge resumes after a restart) and
   * broadcast as any commit. Resolves false if the room closed first.
   */
  follow: RoomFollow
  /**
   * The whole document as one update and the history seq it holds, taken while no commit is in
   * flight (so it holds only durable content), with the per-address cooldowns inside the window
   * then (null without PER_IP_COOLDOWN): what a writer's State message carries. The cooldowns
   * may include reservations of placements accepted but not yet committed: those commits follow
   * the State with the same entries (or, failing, give them back: an edge then shows the address
   * on cooldown that the writer no longer holds, until the window ends; a failing commit is
   * retried until the relay closes, so this is rare and only what the page shows).
   */
  durableState: () => Promise<{ update: Uint8Array; docSeq: number; addressCooldowns: AddressCooldown[] | null }>
  /**
   * Resolves once the history holds every commit broadcast so far: at once, except on an edge
   * while a followed commit, broadcast before its own durable write, is being written
   * (relay/commit-queue.ts follow). History reads (tile reads) wait for it, so that a reader that
   * saw seq N live reads N.
   */
  settled: () => Promise<void>
}

export type RoomDeps = {
  board: BoardConfig
  history: HistoryStore
  log: Logger
  /** Minimum ms between commits (0 = group commit only). */
  tickMs: number
  /** Minimum ms between two broadcasts (0 = the fan-out's adaptive spacing only: relay/fan-out.ts). */
  broadcastMinMs?: number
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
  /** An edge relay's room: its document is written only by `follow` (relay/edge-follower.ts). */
  follower?: boolean
  /**
   * A writer's commits, each once durable (relay/commit-publisher.ts). `addresses` (with
   * per-address cooldowns only): for each record, the pseudonym of the address whose cooldown its
   * placement started, '' for none.
   */
  onDurable?: (records: readonly PlacementRecord[], update: Uint8Array | null, addresses: readonly string[] | undefined) => void
  /** Presence across relays (relay/presence-exchange.ts), scaled out only. */
  presence?: BoardPresence
}

/**
 * A writer's RoomDeps.onDurable as the commit queue calls it: the address keys become the
 * pseudonyms that edges know them by (an HMAC per placement, only with per-address cooldowns);
 * none without them (the stream then carries no addresses).
 */
const publishWith =
  (onDurable: NonNullable<RoomDeps['onDurable']>, pseudonym: ((ipKey: string) => string) | null) =>
  (records: readonly PlacementRecord[], update: Uint8Array | null, ipKeys: readonly string[]) =>
    onDurable(records, update, pseudonym ? ipKeys.map((k) => (k === '' ? '' : pseudonym(k))) : undefined)

/** Opens a board: loads its document, replays history not yet in it, restores cooldowns. */
export const openRoom = async (deps: RoomDeps): Promise<Room> => {
  const { history, log, now } = deps
  const id = deps.board.id
  const doc = await history.loadDoc(id)
  // Every update the room's own transactions produce (the start's, then each commit's).
  const capture = captureUpdates(doc)
  let closing = false
  const isClosing = () => closing
  const retry = createRetryDurably({ board: id, log, stopped: isClosing })
  // The start-up update (configuration, replayed records), stored as a commit's is.
  const storeStartup = async (update: Uint8Array, meta: Record<string, number>) => {
    const writes = history.docWrites(id, update, doc)
    const stored = await retry.run({
      what: 'history write',
      attempt: async () => {
        await history.append(id, [], meta, writes)
        return true
      },
      onFirstFailure: (err) => log.error(`board ${id}: cannot store the opened document; retrying:`, (err as Error).message),
    })
    if (!stored) throw new Error('room closed while the history write was failing')
  }
  const opened = await openRoomDoc({
    doc,
    capture,
    board: deps.board,
    history,
    log,
    store: storeStartup,
    follower: deps.follower === true,
  })
  const state = createBoardState(opened)
  let historyFrom = await history.getMeta(id, 'historyFrom', 0)
  const floor: HistoryFloor = {
    get: () => historyFrom,
    set: (seq) => {
      historyFrom = seq
    },
  }
  const compactor = createShardCompactor({
    board: id,
    doc,
    state,
    limits: deps.compaction,
    log,
    epochReplacements: opened.epochReplacements,
  })
  const placementIds = createPlacementIds(PlacementIdLimits)
  const cooldowns = await openCooldowns({
    id,
    history,
    log,
    board: state.board,
    now,
    perIpCooldown: deps.perIpCooldown,
    ipPlacementsPerCooldown: deps.ipPlacementsPerCooldown,
    placementIds,
  })
  const pseudonym = cooldowns.pseudonym
  const sockets = createRoomSockets({
    nextPlaceAt: cooldowns.nextPlaceAt,
    // An edge learns the writer's placements by address pseudonym (relay/room-follow.ts); a relay
    // that takes placements knows its clients' address keys.
    addressKey: pseudonym === null ? undefined : deps.follower ? pseudonym : (ipKey) => ipKey,
    banReasonOf: (user, ip) => deps.moderation?.banReasonOf(user, ip) ?? null,
    ...(deps.presence ? { presence: deps.presence } : {}),
  })
  const answers = createSyncAnswers()
  const fanOut = createFanOut({ sockets, answers, docSeq: opened.lastSeq, minSpacingMs: deps.broadcastMinMs ?? 0 })
  const queue: CommitQueue = createCommitQueue({
    board: id,
    doc,
    capture,
    state,
    compactor,
    history,
    retry,
    sockets,
    fanOut,
    log,
    now,
    tickMs: deps.tickMs,
    closing: isClosing,
    restoreCooldown: cooldowns.restore,
    lastSeq: opened.lastSeq,
    ...(deps.onDurable ? { onDurable: publishWith(deps.onDurable, pseudonym) } : {}),
  })
  const intake = createPlaceIntake({
    board: id,
    state,
    queue,
    cooldowns,
    placementIds,
    moderation: deps.moderation,
    ipPlacementsPerCooldown: deps.ipPlacementsPerCooldown,
    now,
  })
  const sync = createRoomSync({ board: id, doc, history, answers, queue, fanOut, historyFrom: floor.get })

  const updateConfig: Room['updateConfig'] = async (next) => {
    const config = state.change(next)
    if (typeof config === 'string') return { ok: false, error: config }
    await new Promise<PlaceResult>((resolve) => queue.push({ kind: 'config', config, done: resolve }))
    return { ok: true, board: next }
  }

  /** Who placed a record's colour: a Restore record points at the placement it restored. */
  const ownerOf = async (r: PlacementRecord): Promise<{ user: string | null; placedAt: number | null }> => {
    if (r.kind !== RecordKind.Restore) return { user: r.user, placedAt: r.placedAt }
    if (r.ref === 0) return { user: null, placedAt: null }
    const [orig] = await history.getRecords(id, [r.ref])
    return orig ? { user: orig.user, placedAt: orig.placedAt } : { user: null, placedAt: null }
  }

  const settled = (): Promise<void> =>
    queue.docSeq() >= fanOut.sentSeq() ? Promise.resolve() : new Promise((resolve) => queue.whenIdle(resolve))

  const follow = createRoomFollow({ board: id, doc, state, queue, cooldowns, sockets, floor, answers, log })

  return {
    id,
    follow,
    durableState: () =>
      new Promise((resolve) =>
        queue.whenIdle(() =>
          resolve({ update: Y.encodeStateAsUpdate(doc), docSeq: queue.docSeq(), addressCooldowns: cooldowns.addressCooldowns() }),
        ),
      ),
    settled,
    config: state.board,
    doc,
    bitmap: state.bitmap,
    submit: intake.submit,
    place: (intent, who) => new Promise((resolve) => intake.submit(intent, who, resolve)),
    write: intake.write,
    exclusive: queue.exclusive,
    updateConfig,
    nextPlaceAt: cooldowns.nextPlaceAt,
    historyFrom: floor.get,
    tileInfo: async (x, y) => {
      await settled()
      const latest = await history.tileLatest(id, x, y)
      if (!latest) return { x, y, color: state.bitmap()[y * state.board().width + x] ?? 0, user: null, placedAt: null }
      return { x, y, color: latest.color, ...(await ownerOf(latest)) }
    },
    docConfig: state.docConfig,
    catchUp: sync.catchUp,
    lastSeq: queue.docSeq,
    syncAnswer: sync.syncAnswer,
    hasForeignContent: (update) => hasForeignContent(doc, update),
    addConn: sockets.add,
    removeConn: sockets.remove,
    sessionFrame: sockets.sessionFrame,
    refreshSessions: sockets.refreshSessions,
    online: sockets.people,
    sockets: () => sockets.all().size,
    heartbeat: sockets.broadcastPresence,
    close: async () => {
      closing = true
      sockets.close()
      await queue.stop()
      // Viewers see every acknowledged commit before their sockets close.
      fanOut.flush()
      fanOut.close()
      queue.failPending()
      await cooldowns.close()
      doc.destroy()
    },
  }
}
