/**
 * shared/stream-order.ts: a board stream's messages in order for a follower (an edge relay, the
 * stream-following snapshotter): applied in stream order, parts put together (an incomplete set
 * at the end told), and never past a gap (a stream sequence skipped, history seqs missing, an
 * orphan part) until the writer's State bridges it.
 */
import { describe, expect, it } from 'vitest'
import { type PlacementRecord, RecordKind } from '../../shared/placement-record.ts'
import { CommitKind, encodeCommitMessage } from '../../shared/stream-messages.ts'
import { createStreamOrder, type OrderStep } from '../../shared/stream-order.ts'
import { splitMessage } from '../../shared/stream-parts.ts'

const record = (seq: number): PlacementRecord => ({
  seq,
  x: seq % 7,
  y: 0,
  color: 1,
  user: 'u',
  placedAt: 1_000 + seq,
  kind: RecordKind.Placement,
  ref: 0,
})
/** A Commit of records first..last (its update is a stand-in: the order never decodes it). */
const commit = (first: number, last: number): Uint8Array => {
  const records = Array.from({ length: last - first + 1 }, (_, i) => record(first + i))
  return encodeCommitMessage({ kind: CommitKind.Commit, docSeq: last, records, update: new Uint8Array([first]) })
}
const state = (docSeq: number): Uint8Array =>
  encodeCommitMessage({ kind: CommitKind.State, docSeq, records: [], update: new Uint8Array(3000).fill(9) })

/** The applied messages as [streamSeq, kind, docSeq]. */
const applied = (steps: OrderStep[]) =>
  steps.flatMap((s) => (s.kind === 'apply' ? [[s.streamSeq, s.message.kind, s.message.docSeq] as const] : []))
const kinds = (steps: OrderStep[]) => steps.map((s) => s.kind)

describe('stream order', () => {
  it('applies messages in stream order and tells its position', () => {
    const order = createStreamOrder({ streamSeq: 0, docSeq: 0 })
    expect(applied(order.take(1, commit(1, 3)))).toEqual([[1, CommitKind.Commit, 3]])
    expect(applied(order.take(2, commit(4, 4)))).toEqual([[2, CommitKind.Commit, 4]])
    // A message taken twice (a consumer redelivering) is not applied again.
    expect(order.take(2, commit(4, 4))).toEqual([])
    expect(order.position()).toEqual({ streamSeq: 2, docSeq: 4, partsPending: false })
  })

  it('resumes after a position: a commit that continues it applies', () => {
    const order = createStreamOrder({ streamSeq: 40, docSeq: 90 })
    expect(applied(order.take(41, commit(91, 95)))).toEqual([[41, CommitKind.Commit, 95]])
  })

  it('puts parts together and applies the whole with its last part', () => {
    const order = createStreamOrder({ streamSeq: 0, docSeq: 0 })
    const parts = splitMessage(state(10), 1000, 'tag:1') as Uint8Array[]
    expect(parts.length).toBe(4)
    expect(parts.slice(0, 3).flatMap((p, i) => order.take(i + 1, p))).toEqual([])
    expect(applied(order.take(4, parts[3] as Uint8Array))).toEqual([[4, CommitKind.State, 10]])
  })

  it('tells when parts of an incomplete set wait, until the set completes or is interrupted', () => {
    const order = createStreamOrder({ streamSeq: 0, docSeq: 0 })
    order.take(1, commit(1, 2))
    const parts = splitMessage(state(10), 1000, 'tag:2') as Uint8Array[]
    // The stream ends inside the set: what precedes it (stream message 1) is all there is to apply.
    expect(order.take(2, parts[0] as Uint8Array)).toEqual([])
    expect(order.position()).toEqual({ streamSeq: 2, docSeq: 2, partsPending: true })
    expect(parts.slice(1, 3).flatMap((p, i) => order.take(i + 3, p))).toEqual([])
    expect(order.position().partsPending).toBe(true)
    expect(applied(order.take(5, parts[3] as Uint8Array))).toEqual([[5, CommitKind.State, 10]])
    expect(order.position()).toEqual({ streamSeq: 5, docSeq: 10, partsPending: false })
    // A set that another message interrupts is dropped: nothing waits any more.
    order.take(6, parts[0] as Uint8Array)
    expect(order.position().partsPending).toBe(true)
    const steps = order.take(7, commit(11, 11))
    expect(kinds(steps)).toEqual(['warn', 'apply'])
    expect(order.position().partsPending).toBe(false)
  })

  it('asks for a State at once on an orphan part (its set began before what was read), then goes on from the State', () => {
    // Following began at stream message 11, inside a set whose part 0 is at 10.
    const order = createStreamOrder({ streamSeq: 10, docSeq: 5 })
    const parts = splitMessage(state(8), 1000, 'tag:10') as Uint8Array[]
    const steps = order.take(11, parts[1] as Uint8Array)
    expect(steps).toEqual([{ kind: 'repair', why: 'a part whose set began before what this follower read', at: 11, after: 5 }])
    expect(order.repairing()).toBe(true)
    expect(order.position().partsPending).toBe(false)
    // The rest of the orphan set is held, then skipped: the writer's State (at 14) holds it.
    expect(order.take(12, parts[2] as Uint8Array)).toEqual([])
    expect(order.take(13, parts[3] as Uint8Array)).toEqual([])
    expect(order.take(14, state(9))).toEqual([])
    expect(applied(order.repaired(14))).toEqual([[14, CommitKind.State, 9]])
    expect(order.position()).toEqual({ streamSeq: 14, docSeq: 9, partsPending: false })
  })

  it('never applies past a skipped stream sequence: holds messages until the State, then goes on from it', () => {
    const order = createStreamOrder({ streamSeq: 0, docSeq: 0 })
    order.take(1, commit(1, 2))
    const gap = order.take(3, commit(4, 4))
    expect(gap).toEqual([{ kind: 'repair', why: 'stream messages 2..2 are missing', at: 3, after: 2 }])
    expect(order.repairing()).toBe(true)
    expect(order.take(4, commit(5, 5))).toEqual([])
    expect(order.take(5, state(5))).toEqual([])
    // The writer put its State at 5: 3 and 4 (held) are in it.
    const steps = order.repaired(5)
    expect(applied(steps)).toEqual([[5, CommitKind.State, 5]])
    expect(order.repairing()).toBe(false)
    expect(applied(order.take(6, commit(6, 6)))).toEqual([[6, CommitKind.Commit, 6]])
  })

  it('asks again when the State is missing where the writer said', () => {
    const order = createStreamOrder({ streamSeq: 0, docSeq: 0 })
    order.take(1, commit(1, 1))
    order.take(3, commit(3, 3))
    expect(kinds(order.take(5, commit(5, 5)))).toEqual([])
    expect(kinds(order.repaired(4))).toEqual(['repair'])
    expect(order.repairing()).toBe(true)
  })

  it('treats missing history seqs between commits as a gap, but not before a State', () => {
    const order = createStreamOrder({ streamSeq: 0, docSeq: 0 })
    order.take(1, commit(1, 3))
    expect(kinds(order.take(2, commit(5, 5)))).toEqual(['repair'])
    const fresh = createStreamOrder({ streamSeq: 9, docSeq: 0 })
    expect(applied(fresh.take(10, state(500)))).toEqual([[10, CommitKind.State, 500]])
  })

  it('skips a message that is not a commit message, saying so', () => {
    const order = createStreamOrder({ streamSeq: 0, docSeq: 0 })
    expect(kinds(order.take(1, new Uint8Array([7, 7, 7])))).toEqual(['warn'])
    expect(applied(order.take(2, commit(1, 1)))).toEqual([[2, CommitKind.Commit, 1]])
  })
})
