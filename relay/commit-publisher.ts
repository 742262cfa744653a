/**
 * A writer relay's publishing of one board's commits to its JetStream stream (scaling out:
 * docs/ARCHITECTURE.md): every commit, once durable (RoomDeps.onDurable), becomes a Commit
 * message (shared/stream-messages.ts), in commit order. Publishes are retried until JetStream
 * acknowledges them; commits made meanwhile wait in order and go out merged (one message for
 * what queued up, as a group commit does); a message larger than the server's max_payload goes
 * in parts (shared/stream-parts.ts). Each message's headers say the history seq and the document
 * clock the stream holds with it. At start the writer publishes what the stream lacks, if
 * anything (its last message's seq and clock are not the document's): the history records
 * after the stream's last message, then its whole document as a State message, so that a
 * commit that was durable but not yet published when the writer stopped reaches the edges. On an
 * edge's request (relay/state-responder.ts) it publishes a State in commit order, from which that
 * edge follows the stream (a bounded stream: docs/ARCHITECTURE.md "Scaling out").
 */
import { headers } from '@nats-io/transport-node'
import * as Y from 'yjs'
import type { Logger } from '../node-kit/log.ts'
import type { PlacementRecord } from '../shared/placement-record.ts'
import {
  type AddressCooldown,
  CLOCK_HEADER,
  CommitKind,
  type CommitMessage,
  encodeCommitMessage,
  SEQ_HEADER,
  type StateReply,
  type StateRequest,
  streamNames,
} from '../shared/stream-messages.ts'
import { PART_HEADROOM_BYTES, splitMessage } from '../shared/stream-parts.ts'
import type { HistoryStore } from './history-store.ts'
import type { NatsLink } from './nats-link.ts'
import type { Room } from './room.ts'

/** Records in one message at most, when merging commits or republishing history. */
const MAX_MESSAGE_RECORDS = 10_000
/**
 * Commits are merged into one message while their updates and records (at most ~64 bytes each)
 * stay under this many bytes: well under NATS's default 1 MiB payload limit. Commits are not
 * cut apart (a commit's records and update belong together): a larger one goes alone, in parts.
 */
const MERGE_BYTES = 256 * 1024 // and at most one stream message (pieceBytes)
const RECORD_BYTES = 64
/** Ms to wait for JetStream's acknowledgement of a publish before trying it again. */
const PUBLISH_TIMEOUT_MS = 2_000
/** Ms between two attempts while publishing fails. */
const RETRY_MS = 250
/** NATS's default max_payload in bytes, for a connection whose server info is not known yet. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

export type CommitPublisher = {
  /** RoomDeps.onDurable: queues one durable commit for publishing (with its records' address pseudonyms, if any). */
  durable: (records: readonly PlacementRecord[], update: Uint8Array | null, addresses: readonly string[] | undefined) => void
  /**
   * Publishes what the stream lacks (records after its last message, then the whole document),
   * ahead of the commits queued meanwhile; then publishes as commits come.
   */
  start: (room: Room, history: HistoryStore) => Promise<void>
  /**
   * Queues a State message (the whole document now, and the history records after
   * `request.after`, at most the last MAX_BOOTSTRAP_RECORDS of them, or MAX_REPAIR_RECORDS for a
   * `full` request) at this moment's place in the commit order: every commit queued before is in it, every
   * later one follows it. Resolves once it is in the stream (shared/stream-messages.ts StateReply).
   */
  publishState: (room: Room, history: HistoryStore, request: StateRequest) => Promise<StateReply>
  /** Whether publishing is failing now (NATS down): the writer then refuses placements (503). */
  stalled: () => boolean
  /** Stops publishing; what is left unpublished is in the history, published at the next start. */
  close: () => void
}

/**
 * Records a State message for an edge that is starting carries at most: the last ones (its
 * history then starts after a hole; the recent records give it the identities' cooldowns and the
 * tiles placed lately).
 */
const MAX_BOOTSTRAP_RECORDS = 100_000
/**
 * Records a State message for a running edge repairing a gap carries at most (about 100 MB of
 * the writer's memory while it reads them, and 20 MB of stream): the last ones, as for a start.
 */
const MAX_REPAIR_RECORDS = 1_000_000

/** A message waiting to be published, with the writer document's clock once it is applied (CLOCK_HEADER). */
type Outgoing = CommitMessage & { clock: number }

/**
 * A document's clock (the sum of its state vector): O(clients), a few µs (decoding a commit's
 * update instead, Y.parseUpdateMeta, took ~400 µs for 1,000 placements).
 */
const clockOfDoc = (doc: Y.Doc): number => {
  let n = 0
  for (const c of Y.decodeStateVector(Y.encodeStateVector(doc)).values()) n += c
  return n
}

/** The clock of a document given as a state update (the sum of its state vector). */
const clockOfState = (update: Uint8Array): number => {
  let n = 0
  for (const c of Y.decodeStateVector(Y.encodeStateVectorFromUpdate(update)).values()) n += c
  return n
}

/**
 * A State message with the writer's per-address cooldowns (PER_IP_COOLDOWN; null: none kept, no
 * section): taken with the document, so that an edge that bootstraps or repairs from it counts
 * them in its Session frames, which it would otherwise learn only from the Commit messages it
 * skipped (shared/stream-messages.ts CommitMessage.addressCooldowns says why not per record).
 */
const withCooldowns = (message: Outgoing, cooldowns: AddressCooldown[] | null): Outgoing =>
  cooldowns === null ? message : { ...message, addressCooldowns: cooldowns }

/** A random tag of this start: Nats-Msg-Id is board:tag:n, so that only a retry of the same message is dropped as a duplicate. */
const bootTag = (): string => Math.random().toString(36).slice(2, 10)

export const createCommitPublisher = (deps: { board: string; link: NatsLink; log: Logger }): CommitPublisher => {
  const { board, link, log } = deps
  const { stream, commits } = streamNames(board)
  const tag = bootTag()
  let sent = 0
  let queue: Outgoing[] = []
  /** State messages queued whose records are still being read (the pump stops before one). */
  const unready = new Set<Outgoing>()
  /** Told the stream sequence of a State message's first stream message once it is published. */
  const onPublished = new Map<Outgoing, (streamSeq: number) => void>()
  let started = false
  let pumping = false
  let failing = false
  let closed = false
  /** The history seq of the last commit queued (a configuration change carries it unchanged). */
  let docSeq = 0
  /** The writer document's clock after the last commit queued (CLOCK_HEADER), once started. */
  let clock = 0
  /** The room's document, from start on. */
  let doc: Y.Doc | null = null
  /** The Tessera-Seq and Tessera-Clock of the last message published whole. */
  let published = { seq: 0, clock: 0 }

  /** The queue's head, merged with the plain commits after it up to MAX_MESSAGE_RECORDS. */
  const takeMessage = (): Outgoing => {
    const head = queue[0] as Outgoing
    let n = 1
    if (head.kind === CommitKind.Commit) {
      let records = head.records.length
      let bytes = head.update.length + records * RECORD_BYTES
      while (n < queue.length) {
        const next = queue[n] as Outgoing
        if (next.kind !== CommitKind.Commit || records + next.records.length > MAX_MESSAGE_RECORDS) break
        bytes += next.update.length + next.records.length * RECORD_BYTES
        if (bytes > Math.min(MERGE_BYTES, pieceBytes())) break
        records += next.records.length
        n += 1
      }
    }
    const taken = queue.slice(0, n)
    queue = queue.slice(n)
    if (taken.length === 1) return head
    const updates = taken.map((m) => m.update).filter((u) => u.length > 0)
    const tail = taken[taken.length - 1] as Outgoing
    const merged: Outgoing = {
      kind: CommitKind.Commit,
      docSeq: tail.docSeq,
      clock: tail.clock,
      records: taken.flatMap((m) => m.records),
      update: updates.length === 0 ? new Uint8Array(0) : updates.length === 1 ? (updates[0] as Uint8Array) : Y.mergeUpdates(updates),
    }
    // Addresses stay one per record: '' for those of a message without (records republished from history).
    if (taken.some((m) => m.addresses !== undefined)) merged.addresses = taken.flatMap((m) => m.addresses ?? m.records.map(() => ''))
    return merged
  }

  /** Bytes of one stream message's body at most: the server's max_payload less room for headers. */
  const pieceBytes = () => (link.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - PART_HEADROOM_BYTES

  /** Publishes one stream message, retried until JetStream acknowledges it; resolves its stream sequence (0 if closed first). */
  const publishBytes = async (bytes: Uint8Array, holds: { seq: number; clock: number }): Promise<number> => {
    const h = headers()
    h.set(SEQ_HEADER, String(holds.seq))
    h.set(CLOCK_HEADER, String(holds.clock))
    // The same id on every attempt: an attempt whose acknowledgement was lost is not stored twice.
    const msgID = `${board}:${tag}:${++sent}`
    for (;;) {
      try {
        const ack = await link.js.publish(commits, bytes, { msgID, headers: h, timeout: PUBLISH_TIMEOUT_MS })
        if (failing) log.info(`board ${board}: publishing to ${stream} works again`)
        failing = false
        return ack.seq
      } catch (err) {
        if (closed) return 0
        if (!failing) log.error(`board ${board}: publishing to ${stream} failed; retrying:`, (err as Error).message)
        failing = true
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
      }
    }
  }

  /**
   * Publishes a message, in parts (shared/stream-parts.ts) if it exceeds the server's payload
   * limit; resolves the stream sequence of its first stream message. A part's Tessera-Seq header
   * is what the stream held whole before the set, except on the last part: a writer that starts
   * after stopping in the middle of a set republishes from there.
   */
  const publishOne = async (message: Outgoing): Promise<number> => {
    const bytes = encodeCommitMessage(message)
    const holds = { seq: message.docSeq, clock: message.clock }
    const parts = splitMessage(bytes, pieceBytes(), `${tag}:${sent + 1}`)
    if (!parts) {
      const seq = await publishBytes(bytes, holds)
      published = holds
      return seq
    }
    let first = 0
    for (let i = 0; i < parts.length && !closed; i++) {
      const seq = await publishBytes(parts[i] as Uint8Array, i === parts.length - 1 ? holds : published)
      if (i === 0) first = seq
    }
    published = holds
    return first
  }

  const pump = async () => {
    if (pumping || !started) return
    pumping = true
    try {
      while (queue.length > 0 && !closed && !unready.has(queue[0] as Outgoing)) {
        const message = takeMessage()
        const seq = await publishOne(message)
        onPublished.get(message)?.(seq)
        onPublished.delete(message)
      }
    } finally {
      pumping = false
    }
  }

  return {
    durable: (records, update, addresses) => {
      const last = records[records.length - 1]
      if (last) docSeq = last.seq
      if (records.length === 0 && !update) return
      // The room's document holds exactly the commits made durable so far when onDurable runs (the
      // commit queue transacts nothing between a commit's transaction and its onDurable).
      if (doc) clock = clockOfDoc(doc)
      const message: Outgoing = { kind: CommitKind.Commit, docSeq, clock, records: [...records], update: update ?? new Uint8Array(0) }
      // Per-address cooldowns (shared/stream-messages.ts CommitMessage): only when a record started one.
      if (addresses?.some((a) => a !== '')) message.addresses = [...addresses]
      queue.push(message)
      void pump()
    },
    start: async (room, history) => {
      const last = await link.jsm.streams.getMessage(stream, { last_by_subj: commits }).catch(() => null)
      const streamHas = last ? Number(last.header.get(SEQ_HEADER)) || 0 : 0
      // -1: a stream of before the header, or empty: it cannot be known to hold everything.
      const streamClock = last ? Number(last.header.get(CLOCK_HEADER) || -1) : -1
      published = { seq: streamHas, clock: Math.max(0, streamClock) }
      const state = await room.durableState()
      // Nothing may run between durableState's answer and this line: commits after it add to it.
      clock = clockOfState(state.update)
      doc = room.doc
      docSeq = Math.max(docSeq, state.docSeq)
      if (streamHas > state.docSeq)
        log.error(
          `board ${board}: stream ${stream} holds seqs up to ${streamHas}, beyond this history (${state.docSeq}): was the data reset?`,
        )
      // Commits queued before this start (an admin operation resumed at open) are in the state:
      // their headers must not say the stream holds less than it does.
      for (const m of queue) {
        m.docSeq = Math.max(m.docSeq, state.docSeq)
        m.clock = Math.max(m.clock, clock)
      }
      if (streamHas === state.docSeq && streamClock === clock) {
        // The stream holds every commit of this document: nothing to add (edges that cannot
        // replay it ask for one: relay/state-responder.ts).
        started = true
        await pump()
        return
      }
      // An empty stream (new, or trimmed to nothing by its limits) tells nothing of what edges
      // hold: those that followed it to its end get the last records with the State, the others
      // ask for a State of their own (relay/state-responder.ts). Republishing all history would help nobody.
      const after = last ? streamHas : Math.max(0, state.docSeq - MAX_BOOTSTRAP_RECORDS)
      const front: Outgoing[] = []
      let chunk: PlacementRecord[] = []
      for await (const r of history.readAfter(board, after)) {
        if (r.seq > state.docSeq) break
        chunk.push({ ...r })
        if (chunk.length === MAX_MESSAGE_RECORDS) {
          front.push({ kind: CommitKind.Commit, docSeq: r.seq, clock: published.clock, records: chunk, update: new Uint8Array(0) })
          chunk = []
        }
      }
      // Last, the whole document: an edge reads its bitmap from it (and the per-address cooldowns).
      front.push(
        withCooldowns(
          { kind: CommitKind.State, docSeq: state.docSeq, clock: clockOfState(state.update), records: chunk, update: state.update },
          state.addressCooldowns,
        ),
      )
      queue = front.concat(queue)
      started = true
      await pump()
    },
    publishState: async (room, history, request) => {
      if (!started || closed) return { ok: false, message: 'the writer is starting or stopping' }
      const state = await room.durableState()
      const after = Math.max(request.after, state.docSeq - (request.full ? MAX_REPAIR_RECORDS : MAX_BOOTSTRAP_RECORDS))
      // Queued synchronously with the capture: the commits before it are in the state, later ones follow it.
      const message: Outgoing = withCooldowns(
        { kind: CommitKind.State, docSeq: state.docSeq, clock: clockOfState(state.update), records: [], update: state.update },
        state.addressCooldowns,
      )
      queue.push(message)
      unready.add(message)
      try {
        for await (const r of history.readAfter(board, after)) {
          if (r.seq > state.docSeq) break
          message.records.push({ ...r })
        }
      } finally {
        unready.delete(message)
      }
      const streamSeq = await new Promise<number>((resolve) => {
        onPublished.set(message, resolve)
        void pump()
      })
      if (streamSeq === 0) return { ok: false, message: 'the writer is stopping' }
      log.info(`board ${board}: published a State at stream sequence ${streamSeq} (seq ${state.docSeq}, ${message.records.length} records)`)
      return { ok: true, streamSeq, docSeq: state.docSeq }
    },
    stalled: () => failing || !link.connected(),
    close: () => {
      closed = true
      for (const resolve of onPublished.values()) resolve(0)
      onPublished.clear()
    },
  }
}
