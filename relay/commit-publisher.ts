/**
 * A writer relay's publishing of one board's commits to its JetStream stream (scaling out:
 * docs/ARCHITECTURE.md): every commit, once durable (RoomDeps.onDurable), becomes a Commit
 * message (shared/stream-messages.ts), in commit order. Publishes are retried until JetStream
 * acknowledges them; commits made meanwhile wait in order and go out merged (one message for
 * what queued up, as a group commit does). At start the writer publishes what the stream lacks:
 * the history records after the stream's last message, then its whole document as a State
 * message, so that a commit that was durable but not yet published when the writer stopped
 * reaches the edges.
 */
import { headers } from '@nats-io/transport-node'
import * as Y from 'yjs'
import type { Logger } from '../node-kit/log.ts'
import {
  CommitKind,
  type CommitMessage,
  encodeCommitMessage,
  SEQ_HEADER,
  type ShippedRecord,
  streamNames,
} from '../shared/stream-messages.ts'
import { PART_HEADROOM_BYTES, splitMessage } from '../shared/stream-parts.ts'
import type { HistoryStore } from './history-store.ts'
import type { NatsLink } from './nats-link.ts'
import type { PlacementRecord } from './record-block.ts'
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
  /** RoomDeps.onDurable: queues one durable commit for publishing. */
  durable: (records: readonly PlacementRecord[], update: Uint8Array | null) => void
  /**
   * Publishes what the stream lacks (records after its last message, then the whole document),
   * ahead of the commits queued meanwhile; then publishes as commits come.
   */
  start: (room: Room, history: HistoryStore) => Promise<void>
  /** Whether publishing is failing now (NATS down): the writer then refuses placements (503). */
  stalled: () => boolean
  /** Stops publishing; what is left unpublished is in the history, published at the next start. */
  close: () => void
}

/** A random tag of this start: Nats-Msg-Id is board:tag:n, so that only a retry of the same message is dropped as a duplicate. */
const bootTag = (): string => Math.random().toString(36).slice(2, 10)

export const createCommitPublisher = (deps: { board: string; link: NatsLink; log: Logger }): CommitPublisher => {
  const { board, link, log } = deps
  const { stream, commits } = streamNames(board)
  const tag = bootTag()
  let sent = 0
  let queue: CommitMessage[] = []
  let started = false
  let pumping = false
  let failing = false
  let closed = false
  /** The history seq of the last commit queued (a configuration change carries it unchanged). */
  let docSeq = 0
  /** The Tessera-Seq of the last message published whole. */
  let published = 0

  /** The queue's head, merged with the plain commits after it up to MAX_MESSAGE_RECORDS. */
  const takeMessage = (): CommitMessage => {
    const head = queue[0] as CommitMessage
    let n = 1
    if (head.kind === CommitKind.Commit) {
      let records = head.records.length
      let bytes = head.update.length + records * RECORD_BYTES
      while (n < queue.length) {
        const next = queue[n] as CommitMessage
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
    return {
      kind: CommitKind.Commit,
      docSeq: (taken[taken.length - 1] as CommitMessage).docSeq,
      records: taken.flatMap((m) => m.records),
      update: updates.length === 0 ? new Uint8Array(0) : updates.length === 1 ? (updates[0] as Uint8Array) : Y.mergeUpdates(updates),
    }
  }

  /** Bytes of one stream message's body at most: the server's max_payload less room for headers. */
  const pieceBytes = () => (link.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - PART_HEADROOM_BYTES

  /** Publishes one stream message, retried until JetStream acknowledges it; resolves its stream sequence (0 if closed first). */
  const publishBytes = async (bytes: Uint8Array, seqHeader: number): Promise<number> => {
    const h = headers()
    h.set(SEQ_HEADER, String(seqHeader))
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
  const publishOne = async (message: CommitMessage): Promise<number> => {
    const bytes = encodeCommitMessage(message)
    const parts = splitMessage(bytes, pieceBytes(), `${tag}:${sent + 1}`)
    if (!parts) {
      const seq = await publishBytes(bytes, message.docSeq)
      published = message.docSeq
      return seq
    }
    let first = 0
    for (let i = 0; i < parts.length && !closed; i++) {
      const seq = await publishBytes(parts[i] as Uint8Array, i === parts.length - 1 ? message.docSeq : published)
      if (i === 0) first = seq
    }
    published = message.docSeq
    return first
  }

  const pump = async () => {
    if (pumping || !started) return
    pumping = true
    try {
      while (queue.length > 0 && !closed) await publishOne(takeMessage())
    } finally {
      pumping = false
    }
  }

  const shipped = (records: readonly PlacementRecord[]): ShippedRecord[] => records.map((r) => ({ ...r }))

  return {
    durable: (records, update) => {
      const last = records[records.length - 1]
      if (last) docSeq = last.seq
      if (records.length === 0 && !update) return
      queue.push({ kind: CommitKind.Commit, docSeq, records: shipped(records), update: update ?? new Uint8Array(0) })
      void pump()
    },
    start: async (room, history) => {
      const last = await link.jsm.streams.getMessage(stream, { last_by_subj: commits }).catch(() => null)
      const streamHas = last ? Number(last.header.get(SEQ_HEADER)) || 0 : 0
      published = streamHas
      const state = await room.durableState()
      docSeq = Math.max(docSeq, state.docSeq)
      if (streamHas > state.docSeq)
        log.error(
          `board ${board}: stream ${stream} holds seqs up to ${streamHas}, beyond this history (${state.docSeq}): was the data reset?`,
        )
      const front: CommitMessage[] = []
      let chunk: ShippedRecord[] = []
      for await (const r of history.readAfter(board, streamHas)) {
        if (r.seq > state.docSeq) break
        chunk.push({ ...r })
        if (chunk.length === MAX_MESSAGE_RECORDS) {
          front.push({ kind: CommitKind.Commit, docSeq: r.seq, records: chunk, update: new Uint8Array(0) })
          chunk = []
        }
      }
      // Last, the whole document: an edge reads its bitmap from it.
      front.push({ kind: CommitKind.State, docSeq: state.docSeq, records: chunk, update: state.update })
      // Commits queued before this start (an admin operation resumed at open) follow the State,
      // which holds them: their headers must not say the stream holds less than it does.
      for (const m of queue) m.docSeq = Math.max(m.docSeq, state.docSeq)
      queue = front.concat(queue)
      started = true
      await pump()
    },
    stalled: () => failing || !link.connected(),
    close: () => {
      closed = true
    },
  }
}
