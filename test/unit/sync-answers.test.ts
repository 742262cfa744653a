import * as decoding from 'lib0/decoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createAnswerBudget } from '../../relay/answer-budget.ts'
import { createResumeReader } from '../../relay/resume-reader.ts'
import { createSyncAnswers } from '../../relay/sync-answers.ts'
import { canonicalStateVector } from '../../relay/yjs-internals.ts'
import { LiveMode } from '../../shared/protocol.ts'

const EMPTY = new Uint8Array([0])
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill)

describe('createSyncAnswers', () => {
  it('shares one answer among every asker and appends each commit as its sockets received it', () => {
    const answers = createSyncAnswers()
    expect(answers.get(EMPTY, LiveMode.Yjs, 0)).toBeNull()
    const base = bytes(1000, 1)
    answers.put(EMPTY, base, 41, 0, 100)
    const yjs = answers.get(EMPTY, LiveMode.Yjs, 0) as Uint8Array[]
    expect(yjs).toEqual([base])
    expect(yjs[0]).toBe(base)
    // live=tiles: the base, then the cursor: a Tiles frame from seq 42 with no values.
    const tiles = answers.get(EMPTY, LiveMode.Tiles, 0) as Uint8Array[]
    expect(tiles).toHaveLength(2)
    const cursor = decoding.createDecoder(tiles[1] as Uint8Array)
    decoding.readVarUint(cursor)
    expect(decoding.readVarUint(cursor)).toBe(42)

    const update = bytes(10, 2)
    const config = bytes(5, 3)
    const tile = bytes(8, 4)
    answers.commit({ yjs: [update], tiles: [config, tile] })
    expect(answers.get(EMPTY, LiveMode.Yjs, 0)).toEqual([base, update])
    expect((answers.get(EMPTY, LiveMode.Tiles, 0) as Uint8Array[]).slice(2)).toEqual([config, tile])
  })

  it('serves an answer with commits after it only while a fresh encoding would come too soon', () => {
    const answers = createSyncAnswers()
    // Encoded at t = 1000 in 5 ms: a fresh one may be encoded from t = 1050.
    answers.put(EMPTY, bytes(1000, 1), 0, 1000, 5)
    expect(answers.get(EMPTY, LiveMode.Yjs, 5000)).not.toBeNull()
    answers.commit({ yjs: [bytes(10, 2)], tiles: [] })
    expect(answers.get(EMPTY, LiveMode.Yjs, 1049)).toHaveLength(2)
    expect(answers.get(EMPTY, LiveMode.Yjs, 1050)).toBeNull()
  })

  it('drops an answer once the commits since outweigh a quarter of it (and 64 KiB)', () => {
    const answers = createSyncAnswers()
    answers.put(EMPTY, bytes(400_000, 1), 0, 0, 100)
    answers.commit({ yjs: [bytes(60_000, 2)], tiles: [bytes(30_000, 3)] })
    expect(answers.size()).toBe(1)
    answers.commit({ yjs: [bytes(20_000, 2)], tiles: [] })
    expect(answers.size()).toBe(0)
    expect(answers.get(EMPTY, LiveMode.Yjs, 0)).toBeNull()
  })

  it('keeps the empty state vector whatever other state vectors are asked', () => {
    const answers = createSyncAnswers({ maxEntries: 2 })
    answers.put(EMPTY, bytes(10, 0), 0, 0, 100)
    for (let i = 1; i <= 5; i++) answers.put(new Uint8Array([1, i, 1]), bytes(10, i), 0, 0, 100)
    expect(answers.size()).toBe(3)
    expect(answers.get(EMPTY, LiveMode.Yjs, 0)).not.toBeNull()
    // Least recently used first out.
    expect(answers.get(new Uint8Array([1, 3, 1]), LiveMode.Yjs, 0)).toBeNull()
    expect(answers.get(new Uint8Array([1, 5, 1]), LiveMode.Yjs, 0)).not.toBeNull()
  })
})

describe('canonicalStateVector', () => {
  it('spells every question with the same answer the same way', () => {
    const doc = new Y.Doc()
    doc.getMap('m').set('a', 1)
    doc.getMap('m').set('b', 2)
    const own = doc.clientID
    const canonical = (m: Map<number, number>) => Y.decodeStateVector(canonicalStateVector(doc, Y.encodeStateVector(m)))
    // Unknown clients and zero clocks are dropped; clocks beyond the document's are lowered.
    expect(canonical(new Map([[own + 1, 5]]))).toEqual(new Map())
    expect(canonical(new Map([[own, 0]]))).toEqual(new Map())
    expect(canonical(new Map([[own, 99]]))).toEqual(new Map([[own, 2]]))
    expect(canonical(new Map([[own, 1]]))).toEqual(new Map([[own, 1]]))
    // The canonical question gets the same answer as the one asked.
    const asked = Y.encodeStateVector(
      new Map([
        [own, 1],
        [own + 7, 3],
      ]),
    )
    expect(Y.encodeStateAsUpdate(doc, canonicalStateVector(doc, asked))).toEqual(Y.encodeStateAsUpdate(doc, asked))
  })

  it('throws on a state vector that cannot be decoded', () => {
    expect(() => canonicalStateVector(new Y.Doc(), new Uint8Array([5, 1]))).toThrow()
  })
})

describe('createResumeReader', () => {
  // History where seq s holds the value s * 10, and a count of records read.
  const historyOf = (last: number) => {
    const state = { reads: 0 }
    const readAfter = async function* (after: number) {
      for (let s = after + 1; s <= last; s++) {
        state.reads += 1
        yield s * 10
      }
    }
    return { state, readAfter }
  }
  // The fragments of one message, joined as the client receives them.
  const valuesOf = (fragments: Uint8Array[]) => {
    const dec = decoding.createDecoder(Buffer.concat(fragments))
    decoding.readVarUint(dec)
    const first = decoding.readVarUint(dec)
    const n = decoding.readVarUint(dec)
    const values: number[] = []
    for (let i = 0; i < n; i++) values.push(decoding.readUint32(dec))
    return { first, values }
  }

  it('answers (since, upTo] exactly, reading each record once across overlapping requests', async () => {
    const h = historyOf(1000)
    const reader = createResumeReader(h.readAfter)
    const all = await Promise.all([reader.read(500, 900), reader.read(600, 900), reader.read(400, 900), reader.read(450, 1000)])
    for (const [i, since] of [500, 600, 400, 450].entries()) {
      const upTo = i === 3 ? 1000 : 900
      const { first, values } = valuesOf(all[i] as Uint8Array[])
      expect(first).toBe(since + 1)
      expect(values).toEqual(Array.from({ length: upTo - since }, (_, k) => (since + 1 + k) * 10))
    }
    // 400..1000 read once: 600 records, not 400 + 300 + 500 + 550.
    expect(h.state.reads).toBe(600)
    // The values are views of one shared buffer, not copies.
    const [a, b] = [all[0]?.[1], all[1]?.[1]]
    expect(a?.buffer).toBe(b?.buffer)
  })

  it('answers an empty range with a cursor (a head of no values)', async () => {
    const reader = createResumeReader(historyOf(10).readAfter)
    const answer = await reader.read(10, 10)
    expect(answer).toHaveLength(1)
    expect(valuesOf(answer)).toEqual({ first: 11, values: [] })
  })
})

describe('createAnswerBudget', () => {
  it('sends an answer of any size when the balance is positive, then waits for the debt to refill', () => {
    const budget = createAnswerBudget({ bytesPerSecond: 1000, burstBytes: 2000 })
    expect(budget.delayMs('a', 0)).toBe(0)
    budget.charge('a', 5000, 0)
    // 3000 bytes in debt at 1000 bytes/s: just over 3 s.
    expect(budget.delayMs('a', 0)).toBeGreaterThan(3000)
    expect(budget.delayMs('a', 3100)).toBe(0)
    // Another address has its own budget.
    expect(budget.delayMs('b', 0)).toBe(0)
  })

  it('tracks at most maxKeys addresses', () => {
    const budget = createAnswerBudget({ bytesPerSecond: 1, burstBytes: 10, maxKeys: 2 })
    budget.charge('a', 100, 0)
    budget.charge('b', 100, 0)
    budget.charge('c', 100, 0)
    // 'a' was evicted: it starts again with a full bucket, no more than a new address gets.
    expect(budget.delayMs('a', 0)).toBe(0)
    expect(budget.delayMs('c', 0)).toBeGreaterThan(0)
  })
})
