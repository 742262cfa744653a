/**
 * Bringing a socket up to date: the answer to its sync step 1 (shared between sockets that ask
 * the same: relay/sync-answers.ts), and a live=tiles socket's resume from a history seq
 * (relay/resume-reader.ts). Both hold only durable commits (on an edge, a cached answer may hold
 * a followed commit durable on the writer, not yet here: relay/commit-queue.ts follow).
 */
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import type * as Y from 'yjs'
import { encodeTiles } from '../shared/frames.ts'
import { LiveMode, MAX_RESUME_TILES, MessageType } from '../shared/protocol.ts'
import { type CommitQueue, tileValueOf } from './commit-queue.ts'
import type { FanOut } from './fan-out.ts'
import type { HistoryStore } from './history-store.ts'
import { createResumeReader } from './resume-reader.ts'
import type { SyncAnswers } from './sync-answers.ts'
import { canonicalStateVector } from './yjs-internals.ts'

export type RoomSync = {
  /** Room.syncAnswer. */
  syncAnswer: (stateVector: Uint8Array, live: LiveMode, cursor?: boolean) => Promise<Uint8Array[]>
  /** Room.catchUp: every seq broadcast when it is called is in its answer. */
  catchUp: (since: number) => Promise<Uint8Array[] | null>
}

export const createRoomSync = (deps: {
  board: string
  doc: Y.Doc
  history: HistoryStore
  answers: SyncAnswers
  queue: Pick<CommitQueue, 'committing' | 'whenIdle' | 'docSeq'>
  fanOut: Pick<FanOut, 'flush' | 'sentSeq'>
  /** The seq up to which the history may lack records (an edge that bootstrapped; 0 otherwise). */
  historyFrom: () => number
}): RoomSync => {
  const { doc, answers, queue, fanOut } = deps
  const resumes = createResumeReader(async function* (afterSeq) {
    for await (const r of deps.history.readAfter(deps.board, afterSeq)) yield tileValueOf(r)
  })

  const syncAnswer: RoomSync['syncAnswer'] = (asked, live, cursor = false) => {
    let stateVector: Uint8Array
    try {
      stateVector = canonicalStateVector(doc, asked)
    } catch (err) {
      return Promise.reject(err)
    }
    // The cursor after a live=yjs answer: the seq the answer brings the reader to. Taken in the
    // same turn as the answer's frames (a cached answer holds every commit broadcast so far).
    const withCursor = (frames: Uint8Array[]): Uint8Array[] =>
      cursor && live === LiveMode.Yjs ? [...frames, encodeTiles(fanOut.sentSeq() + 1, [])] : frames
    const encoded = (): Uint8Array[] => {
      // A new base holds the document as it is: every durable commit is broadcast first, so that
      // the commits appended to it later are exactly those after it.
      fanOut.flush()
      const cached = answers.get(stateVector, live, performance.now())
      if (cached) return cached
      const t0 = performance.now()
      const enc = encoding.createEncoder()
      encoding.writeVarUint(enc, MessageType.Sync)
      syncProtocol.writeSyncStep2(enc, doc, stateVector)
      const frame = encoding.toUint8Array(enc)
      const t1 = performance.now()
      answers.put(stateVector, frame, queue.docSeq(), t1, t1 - t0)
      return answers.get(stateVector, live, t1) as Uint8Array[]
    }
    const answer = () => withCursor(encoded())
    // A cached answer holds only durable commits. A new one is encoded from the document, which
    // holds content that is not durable yet while a commit is between its transaction and its
    // durable write: encode it after that.
    const cached = answers.get(stateVector, live, performance.now())
    if (cached) return Promise.resolve(withCursor(cached))
    if (!queue.committing()) {
      try {
        return Promise.resolve(answer())
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return new Promise((resolve, reject) =>
      queue.whenIdle(() => {
        try {
          resolve(answer())
        } catch (err) {
          reject(err)
        }
      }),
    )
  }

  const catchUp: RoomSync['catchUp'] = async (since) => {
    // Every seq broadcast before now must be in the answer: later ones reach the socket as live
    // frames (held while this is read). An edge broadcasts a followed commit before its own
    // durable write (relay/commit-queue.ts follow): then the history lacks seqs already
    // broadcast until that write, the commit in flight, is done.
    const broadcast = fanOut.sentSeq()
    if (queue.docSeq() < broadcast) await new Promise<void>((resolve) => queue.whenIdle(resolve))
    // The history holds up to docSeq now (the commits' durable writes are in order).
    const upTo = queue.docSeq()
    // The room closed while its write was failing: what was broadcast is not in its history.
    if (upTo < broadcast) return null
    if (!Number.isSafeInteger(since) || since < deps.historyFrom() || since > upTo || upTo - since > MAX_RESUME_TILES) return null
    return resumes.read(since, upTo)
  }

  return { syncAnswer, catchUp }
}
