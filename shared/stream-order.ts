/**
 * A board stream's messages put in order for a follower (docs/PROTOCOL.md "Scaling out"), pure:
 * the stream's messages go in by stream sequence; out come the Commit and State messages to
 * apply, in order, with parts put together (shared/stream-parts.ts), and a gap (a stream
 * sequence skipped, history seqs missing between two commits, or an orphan part: one whose set's
 * first part this follower never read) reported instead of applied past. Then the follower asks
 * the writer for a State (it holds the whole document) and says where the writer put it
 * (`repaired`): messages before it are skipped, those after it are taken again. The rules of
 * every stream follower: an edge relay (relay/edge-follower.ts) and the stream-following
 * snapshotter (snapshotter/follow-stream.ts).
 */
import { CommitKind, type CommitMessage, decodeCommitMessage } from './stream-messages.ts'
import { createPartAssembler, decodePart, isPart } from './stream-parts.ts'

/** What a follower does next, in order. */
export type OrderStep =
  /** Apply this message; `streamSeq`: the stream sequence of its last stream message. */
  | { kind: 'apply'; message: CommitMessage; streamSeq: number }
  /** A gap before stream message `at`: ask the writer for a State (`after`: the history seq held), then call `repaired`. */
  | { kind: 'repair'; why: string; at: number; after: number }
  /** Something skipped (a foreign message, parts of an incomplete set): worth a log line. */
  | { kind: 'warn'; text: string }

export type StreamOrder = {
  /** Takes stream message `seq` (delivered in ascending order). */
  take: (seq: number, data: Uint8Array) => OrderStep[]
  /** The writer published the State asked for at stream sequence `at`: the messages held meanwhile are taken again. */
  repaired: (at: number) => OrderStep[]
  /**
   * The last stream sequence taken in order, the history seq held once every step returned is
   * applied, and whether parts of an incomplete set were taken (up to `streamSeq`) and wait for
   * the rest of their set: then what precedes the set is all there is to apply so far.
   */
  position: () => { streamSeq: number; docSeq: number; partsPending: boolean }
  /** Whether a repair waits for `repaired` (messages are held meanwhile). */
  repairing: () => boolean
}

/**
 * `streamSeq`: the last stream sequence already applied (0: none; the next expected is
 * streamSeq + 1). `docSeq`: the history seq the follower's document holds.
 */
export const createStreamOrder = (start: { streamSeq: number; docSeq: number }): StreamOrder => {
  let lastStreamSeq = start.streamSeq
  let lastDocSeq = start.docSeq
  const parts = createPartAssembler()
  /** Whether the assembler holds parts of an incomplete set. */
  let partsPending = false
  /** undefined: no repair; null: waiting for the writer's State (messages held); else the State's stream sequence. */
  let repairAt: number | null | undefined
  let held: { seq: number; data: Uint8Array }[] = []

  const interrupt = (seq: number, out: OrderStep[]) => {
    partsPending = false
    const dropped = parts.interrupt()
    if (dropped > 0) out.push({ kind: 'warn', text: `dropped ${dropped} parts of an incomplete message before stream message ${seq}` })
  }

  const gap = (why: string, seq: number, data: Uint8Array, out: OrderStep[]) => {
    repairAt = null
    held = [{ seq, data }]
    interrupt(seq, out)
    out.push({ kind: 'repair', why, at: seq, after: lastDocSeq })
  }

  const takeInto = (seq: number, data: Uint8Array, out: OrderStep[]) => {
    if (repairAt === null) {
      held.push({ seq, data })
      return
    }
    if (repairAt !== undefined) {
      // Before the State: it holds these messages.
      if (seq < repairAt) {
        lastStreamSeq = seq
        return
      }
      const at = repairAt
      repairAt = undefined
      interrupt(seq, out)
      if (seq !== at) return gap(`the State at stream message ${at} is missing`, seq, data, out)
      lastStreamSeq = seq - 1
    }
    if (seq <= lastStreamSeq) return
    // One subject a stream: a sequence skipped is a message the stream lost (deleted, or a NATS
    // server that lost it), a commit the follower would otherwise never hold.
    if (seq !== lastStreamSeq + 1) return gap(`stream messages ${lastStreamSeq + 1}..${seq - 1} are missing`, seq, data, out)
    lastStreamSeq = seq
    let message: CommitMessage | null = null
    try {
      if (isPart(data)) {
        const { whole, dropped, orphan } = parts.add(decodePart(data))
        partsPending = whole === null && !orphan
        // A part whose set's head was never read here (following began inside the set): what the
        // set holds cannot be had from the stream, so a State at once (rather than waiting for a
        // later commit to show a hole in the history seqs).
        if (orphan) return gap('a part whose set began before what this follower read', seq, data, out)
        if (dropped > 0) out.push({ kind: 'warn', text: `dropped ${dropped} parts of an incomplete message before stream message ${seq}` })
        // Applied with the stream sequence of its last part: a follower that restarts before it reads the set again.
        if (whole) message = decodeCommitMessage(whole)
      } else {
        interrupt(seq, out)
        message = decodeCommitMessage(data)
      }
    } catch (err) {
      out.push({ kind: 'warn', text: `stream message ${seq} is not a commit message (skipped): ${(err as Error).message}` })
    }
    if (!message) return
    const first = message.records[0]?.seq
    // A State holds the whole document; a Commit must continue the history held.
    if (message.kind === CommitKind.Commit && first !== undefined && first > lastDocSeq + 1)
      return gap(`history seqs ${lastDocSeq + 1}..${first - 1} are missing`, seq, data, out)
    lastDocSeq = Math.max(lastDocSeq, message.docSeq)
    out.push({ kind: 'apply', message, streamSeq: seq })
  }

  return {
    take: (seq, data) => {
      const out: OrderStep[] = []
      takeInto(seq, data, out)
      return out
    },
    repaired: (at) => {
      const out: OrderStep[] = []
      if (repairAt !== null) return out
      repairAt = at
      const waiting = held
      held = []
      for (const m of waiting) takeInto(m.seq, m.data, out)
      return out
    },
    position: () => ({ streamSeq: lastStreamSeq, docSeq: lastDocSeq, partsPending }),
    repairing: () => repairAt === null,
  }
}
