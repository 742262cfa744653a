/**
 * The background write of committed document updates to the document store (y-leveldb). A
 * commit's update is durable in the history first (relay/commit-queue.ts); it reaches the
 * document store merged, every DOC_FLUSH_MS, off the commit path, and is then dropped from the
 * history. Until then a restart applies it from the history (the same update: clients that
 * received it stay in step).
 */
import * as Y from 'yjs'
import type { Logger } from '../node-kit/log.ts'
import type { DocStore } from './doc-store.ts'
import type { HistoryStore } from './history-store.ts'
import type { RetryDurably } from './retry-durably.ts'

/** How often committed document updates are written to the document store (y-leveldb) by default, ms. */
export const DOC_FLUSH_MS = 1_000

/**
 * Bytes of committed updates merged into one document store write at most (a single larger
 * update is written alone). Merging took 1-2 ms per KB of a fill's updates on the test machine
 * (60 KB: 67-138 ms), so a slice holds the thread for tens of ms at most.
 */
export const FLUSH_SLICE_BYTES = 32 * 1024

/** A committed document update: `n` its number in the history's kept updates. */
export type KeptUpdate = { n: number; bytes: Uint8Array }

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

export type DocFlush = {
  /**
   * Writes one update to the document store, retrying until the disk recovers (reopening the
   * database between attempts). Throws if the room closes first.
   */
  store: (update: Uint8Array) => Promise<void>
  /** Queues a committed update (durable in the history) for the next flush. */
  queue: (u: KeptUpdate) => void
  /** Writes the queued updates now (or waits for the flush in progress). */
  flush: () => Promise<void>
  /** Whether updates are queued or being written. */
  busy: () => boolean
}

export const createDocFlush = (deps: {
  board: string
  doc: Y.Doc
  persistence: DocStore
  history: HistoryStore
  log: Logger
  retry: RetryDurably
  /** Ms between flushes (default DOC_FLUSH_MS). */
  flushMs?: number | undefined
  /** Whether the document holds only durable content now (no commit in flight, not closing). */
  canCompact: () => boolean
  closing: () => boolean
}): DocFlush => {
  const { board: id, doc, persistence, history, log } = deps
  const flushMs = deps.flushMs ?? DOC_FLUSH_MS

  const store = async (update: Uint8Array): Promise<void> => {
    // Writes to the document store (at start, and flush in the background); placements are
    // refused meanwhile, as while a history write fails.
    const stored = await deps.retry.run({
      what: 'document store',
      attempt: () => persistence.storeUpdate(id, update),
      onFirstFailure: () => log.error(`board ${id}: cannot store a document update; placements are refused until it succeeds`),
      beforeRetry: () =>
        persistence.reopen().catch((err: Error) => log.error(`board ${id}: reopening the document store failed:`, err.message)),
    })
    if (!stored) throw new Error('room closed while the document store was failing')
  }

  let docQueue: KeptUpdate[] = []
  let docTimer: NodeJS.Timeout | null = null
  let docFlushing: Promise<void> | null = null
  const queue = (u: KeptUpdate) => {
    docQueue.push(u)
    if (!docTimer && !docFlushing) docTimer = setTimeout(flush, flushMs)
  }
  const flush = (): Promise<void> => {
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
        await store(slice.length === 1 ? (slice[0] as Uint8Array) : Y.mergeUpdates(slice))
      }
      // Every COMPACT_EVERY stores, the live document's state replaces them (relay/doc-store.ts).
      // Only between commits: during one, the document holds content not yet durable.
      if (persistence.needsCompaction(id) && deps.canCompact()) {
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
        if (docQueue.length > 0 && !deps.closing() && !docTimer) docTimer = setTimeout(flush, flushMs)
      })
    return docFlushing
  }

  return { store, queue, flush, busy: () => docFlushing !== null || docQueue.length > 0 }
}
