/**
 * The offline placement queue: its pure rules (client/sync/place-queue.ts) and the runner
 * (client/sync/queue-runner.ts) over a fake placer and an in-memory Storage: one placement per
 * board, replaced by the next; kept across a "reload" (a new runner on the same storage); sent
 * only when live, after the cooldown, and only if the tile is unchanged (else Keep / Drop); a
 * placement lost in flight is re-sent with the same id, skipping the local checks.
 */
import { describe, expect, it } from 'vitest'
import { enqueue, nextQueueStep, parseQueued, type QueuedPlacement } from '../../client/sync/place-queue.ts'
import type { Intent, PlacementState, Placer } from '../../client/sync/placement.ts'
import { createQueueRunner } from '../../client/sync/queue-runner.ts'
import type { BoardConfig } from '../../shared/board.ts'
import { PlaceError } from '../../shared/protocol.ts'
import { memoryStorage } from '../helpers/memory-storage.ts'

const entry = (over: Partial<QueuedPlacement> = {}): QueuedPlacement => ({
  id: 'AAAAAAAAAAAAAAAAAAAAAA',
  x: 3,
  y: 4,
  color: 5,
  queuedAt: 1000,
  tileColorWhenQueued: 0,
  sent: false,
  sentAt: null,
  kept: false,
  ...over,
})

describe('queue rules (pure)', () => {
  it('holds one placement per board: the next replaces it, unless it was sent', () => {
    const a = entry({ id: 'a' })
    const b = entry({ id: 'b', x: 9 })
    expect(enqueue(null, a)).toEqual({ outcome: 'queued', queued: a })
    expect(enqueue(a, b)).toEqual({ outcome: 'replaced', queued: b })
    const sent = { ...a, sent: true }
    expect(enqueue(sent, b)).toEqual({ outcome: 'busy', queued: sent })
  })

  it('waits while not live, asks on a changed tile, waits out the cooldown, then sends', () => {
    const ctx = { live: true, tileColor: 0, now: 10_000, nextPlaceAt: 0, retryWindowMs: 600_000 }
    expect(nextQueueStep(entry(), { ...ctx, live: false })).toEqual({ kind: 'wait' })
    expect(nextQueueStep(entry(), ctx)).toEqual({ kind: 'send', retry: false })
    expect(nextQueueStep(entry(), { ...ctx, tileColor: 7 })).toEqual({ kind: 'conflict', tileColor: 7 })
    // Kept after a conflict: sent whatever the tile shows.
    expect(nextQueueStep(entry({ kept: true }), { ...ctx, tileColor: 7 })).toEqual({ kind: 'send', retry: false })
    // One per cooldown: the queue never places faster than online placing.
    expect(nextQueueStep(entry(), { ...ctx, nextPlaceAt: 12_500 })).toEqual({ kind: 'cooldown', ms: 2500 })
    // A tile that was off the board when queued and still is: unchanged.
    expect(nextQueueStep(entry({ tileColorWhenQueued: null }), { ...ctx, tileColor: undefined }).kind).toBe('send')
  })

  it("re-sends a placement already sent, whatever the tile and the cooldown say, within the relay's retry window", () => {
    // It may have landed: the tile shows its colour and the cooldown it started runs.
    const sent = entry({ sent: true, sentAt: 1000 })
    const ctx = { live: true, tileColor: 5, now: 2000, nextPlaceAt: 60_000, retryWindowMs: 600_000 }
    expect(nextQueueStep(sent, ctx)).toEqual({ kind: 'send', retry: true })
    expect(nextQueueStep(sent, { ...ctx, live: false })).toEqual({ kind: 'wait' })
    // Past the window the relay no longer knows the id: a retry could place it twice.
    expect(nextQueueStep(sent, { ...ctx, now: 1000 + 600_001 })).toEqual({ kind: 'expired' })
  })

  it('reads back only well-formed entries', () => {
    expect(parseQueued(JSON.stringify(entry()))).toEqual(entry())
    expect(parseQueued(null)).toBeNull()
    expect(parseQueued('{')).toBeNull()
    expect(parseQueued(JSON.stringify({ ...entry(), id: 'not an id!' }))).toBeNull()
    expect(parseQueued(JSON.stringify({ ...entry(), x: -1 }))).toBeNull()
    expect(parseQueued(JSON.stringify({ ...entry(), sent: 'yes' }))).toBeNull()
    expect(parseQueued(JSON.stringify({ ...entry(), sentAt: undefined }))).toBeNull()
  })
})

const BOARD: BoardConfig = {
  id: 'main',
  width: 8,
  height: 8,
  palette: ['#ffffff', '#000000', '#ff0000', '#00ff00', '#0000ff', '#ffff00'],
  shardSize: 8,
  cooldownMs: 60_000,
  locked: false,
}

type Sent = { intent: Intent; id: string; retry: boolean }

/** A page's surroundings: a placer that records what it sends and answers as told. */
const harness = (storage: Storage) => {
  const sent: Sent[] = []
  let answer: (intent: Intent) => PlacementState = (i) => ({ kind: 'placed', ...i, placedAt: 1 })
  let live = false
  let now = 100_000
  let nextPlaceAt = 0
  const tiles = new Map<string, number>()
  let ids = 0
  let pending: ((s: PlacementState) => void) | null = null
  let hold = false
  const placer: Placer = {
    state: () => ({ kind: 'idle' }),
    nextPlaceAt: () => nextPlaceAt,
    setNextPlaceAt: (t) => {
      nextPlaceAt = t
    },
    place: (intent, id, retry = false) => {
      sent.push({ intent, id, retry })
      if (hold) return new Promise((r) => (pending = r))
      return Promise.resolve(answer(intent))
    },
    reset: () => {},
    onChange: () => () => {},
  }
  let boardLocked = false
  const runner = createQueueRunner({
    boardId: 'main',
    storage,
    placer,
    clock: { now: () => now, observe: () => {}, observeCoarse: () => {}, offset: () => 0 },
    board: () => ({ ...BOARD, locked: boardLocked }),
    live: () => live,
    colorAt: (x, y) => tiles.get(`${x},${y}`) ?? 0,
    newId: () => `id${++ids}`,
  })
  return {
    runner,
    sent,
    setLive: (v: boolean) => {
      live = v
    },
    setTile: (x: number, y: number, c: number) => tiles.set(`${x},${y}`, c),
    setNow: (t: number) => {
      now = t
    },
    setNextPlaceAt: (t: number) => {
      nextPlaceAt = t
    },
    answer: (f: (i: Intent) => PlacementState) => {
      answer = f
    },
    hold: () => {
      hold = true
    },
    release: (s: PlacementState) => {
      hold = false
      pending?.(s)
    },
    lock: () => {
      boardLocked = true
    },
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0))

describe('queue runner', () => {
  it('sends at once when live with nothing queued; queues offline, survives a reload, replaces, and sends once live', async () => {
    const storage = memoryStorage()
    const h = harness(storage)
    h.setLive(true)
    await h.runner.place({ x: 1, y: 1, color: 2 })
    expect(h.sent).toEqual([{ intent: { x: 1, y: 1, color: 2 }, id: 'id1', retry: false }])
    expect(h.runner.view().entry).toBeNull()

    h.setLive(false)
    await h.runner.place({ x: 2, y: 2, color: 3 })
    expect(h.runner.view().note?.kind).toBe('queued')
    await h.runner.place({ x: 3, y: 3, color: 4 })
    expect(h.runner.view().note?.kind).toBe('replaced')
    expect(h.sent).toHaveLength(1)

    // A reload: a new page on the same storage finds it.
    const again = harness(storage)
    expect(again.runner.view().entry).toMatchObject({ x: 3, y: 3, color: 4, id: 'id3', sent: false, tileColorWhenQueued: 0 })
    again.runner.flush()
    expect(again.sent).toEqual([])
    again.setLive(true)
    again.runner.flush()
    await settle()
    expect(again.sent).toEqual([{ intent: { x: 3, y: 3, color: 4 }, id: 'id3', retry: false }])
    expect(again.runner.view()).toEqual({ entry: null, note: null })
    expect(storage.length).toBe(0)
  })

  it('waits out the cooldown before sending a queued placement', async () => {
    const h = harness(memoryStorage())
    await h.runner.place({ x: 1, y: 1, color: 1 })
    h.setLive(true)
    h.setNextPlaceAt(100_000 + 30)
    h.runner.flush()
    expect(h.sent).toEqual([])
    h.setNow(100_000 + 31)
    // The runner's timer fires 30 + 50 ms later.
    await new Promise((r) => setTimeout(r, 150))
    expect(h.sent).toHaveLength(1)
  })

  it('asks before sending over a tile someone changed: Drop sends nothing, Keep sends', async () => {
    const h = harness(memoryStorage())
    await h.runner.place({ x: 5, y: 5, color: 1 })
    h.setTile(5, 5, 4)
    h.setLive(true)
    h.runner.flush()
    expect(h.runner.view().note).toMatchObject({ kind: 'conflict', tileColor: 4 })
    expect(h.sent).toEqual([])
    h.runner.drop()
    expect(h.runner.view()).toMatchObject({ entry: null, note: { kind: 'dropped' } })
    h.runner.flush()
    expect(h.sent).toEqual([])

    h.setLive(false)
    await h.runner.place({ x: 6, y: 6, color: 2 })
    h.setTile(6, 6, 3)
    h.setLive(true)
    h.runner.flush()
    expect(h.runner.view().note?.kind).toBe('conflict')
    h.runner.keep()
    await settle()
    expect(h.sent.map((s) => s.intent)).toEqual([{ x: 6, y: 6, color: 2 }])
  })

  it('keeps a placement lost in flight and re-sends it with the same id, even across a reload; it cannot be replaced meanwhile', async () => {
    const storage = memoryStorage()
    const h = harness(storage)
    h.setLive(true)
    h.hold()
    const placing = h.runner.place({ x: 2, y: 3, color: 5 })
    // In flight: stored, marked sent (a closed tab would find it).
    expect(parseQueued(storage.getItem('tessera.queue.main'))).toMatchObject({ id: 'id1', sent: true, sentAt: 100_000 })
    h.setLive(false)
    h.release({ kind: 'lost', x: 2, y: 3, color: 5 })
    await placing
    expect(h.runner.view().entry).toMatchObject({ id: 'id1', sent: true })
    await h.runner.place({ x: 7, y: 7, color: 1 })
    expect(h.runner.view().note?.kind).toBe('busy')
    expect(h.runner.view().entry?.id).toBe('id1')

    const again = harness(storage)
    expect(again.runner.view().note?.kind).toBe('retrying')
    // It landed (the tile shows it, the cooldown runs): re-sent all the same, same id, as a retry.
    again.setTile(2, 3, 5)
    again.setNextPlaceAt(200_000)
    again.setLive(true)
    again.runner.flush()
    await settle()
    expect(again.sent).toEqual([{ intent: { x: 2, y: 3, color: 5 }, id: 'id1', retry: true }])
    expect(storage.length).toBe(0)
  })

  it('forgets, and says so, a placement lost in flight too long ago for the relay to recognise its id', () => {
    const storage = memoryStorage()
    // The window: the board's 60 s cooldown + 10 min, less a minute's margin for the clock.
    storage.setItem('tessera.queue.main', JSON.stringify(entry({ sent: true, sentAt: 1000 })))
    const h = harness(storage)
    h.setNow(1000 + 60_000 + 10 * 60_000 - 60_000 + 1)
    h.setLive(true)
    h.runner.flush()
    expect(h.sent).toEqual([])
    expect(h.runner.view()).toMatchObject({ entry: null, note: { kind: 'expired' } })
    expect(storage.length).toBe(0)
  })

  it('follows what another tab did to the stored queue', async () => {
    const storage = memoryStorage()
    const listeners: ((key: string | null) => void)[] = []
    const sent: string[] = []
    const placer = {
      state: () => ({ kind: 'idle' }) as PlacementState,
      nextPlaceAt: () => 0,
      setNextPlaceAt: () => {},
      place: (i: Intent, id: string) => {
        sent.push(id)
        return Promise.resolve({ kind: 'placed', ...i, placedAt: 1 } as PlacementState)
      },
      reset: () => {},
      onChange: () => () => {},
    }
    const tab = createQueueRunner({
      boardId: 'main',
      storage,
      placer,
      clock: { now: () => 0, observe: () => {}, observeCoarse: () => {}, offset: () => 0 },
      board: () => BOARD,
      live: () => false,
      colorAt: () => 0,
      newId: () => 'x',
      onStorageChange: (l) => listeners.push(l),
    })
    const seen: (string | null)[] = []
    tab.onChange((v) => seen.push(v.note?.kind ?? null))
    // Another tab queues: this one draws it too.
    storage.setItem('tessera.queue.main', JSON.stringify(entry({ id: 'other' })))
    for (const l of listeners) l('tessera.queue.main')
    expect(tab.view()).toMatchObject({ entry: { id: 'other' }, note: { kind: 'queued' } })
    // Another tab sent it and had its answer: nothing left here either; other keys are ignored.
    storage.removeItem('tessera.queue.main')
    for (const l of listeners) l('tessera.color')
    expect(seen).toEqual(['queued'])
    for (const l of listeners) l('tessera.queue.main')
    expect(tab.view()).toEqual({ entry: null, note: null })
    expect(sent).toEqual([])
  })

  it('keeps a queued placement refused for cooldown (the clock estimate was early) under a new id, and sends it after the wait', async () => {
    const h = harness(memoryStorage())
    await h.runner.place({ x: 1, y: 1, color: 1 })
    h.answer((i) => ({ kind: 'rejected', ...i, error: PlaceError.Cooldown, message: null, retryAfterMs: 40, local: false }))
    h.setLive(true)
    h.runner.flush()
    await settle()
    expect(h.sent.map((s) => s.id)).toEqual(['id1'])
    expect(h.runner.view()).toMatchObject({ entry: { id: 'id2', sent: false }, note: { kind: 'cooldown', retryAfterMs: 40 } })
    // Held for at least a second (a refusal must not loop), whatever nextPlaceAt says.
    h.runner.flush()
    await settle()
    expect(h.sent).toHaveLength(1)
    h.answer((i) => ({ kind: 'placed', ...i, placedAt: 2 }))
    h.setNow(100_000 + 1001)
    h.runner.flush()
    await settle()
    expect(h.sent.map((s) => s.id)).toEqual(['id1', 'id2'])
    expect(h.runner.view()).toEqual({ entry: null, note: null })
  })

  it('keeps a queued placement refused for a passing reason (rate-limited, unavailable) under a new id, and sends it after the pause', async () => {
    const h = harness(memoryStorage())
    await h.runner.place({ x: 1, y: 1, color: 1 })
    h.answer((i) => ({ kind: 'rejected', ...i, error: PlaceError.RateLimited, message: null, retryAfterMs: 1000, local: false }))
    h.setLive(true)
    h.runner.flush()
    await settle()
    expect(h.runner.view()).toMatchObject({
      entry: { id: 'id2', sent: false },
      note: { kind: 'held', error: 'rate-limited', retryAfterMs: 1000 },
    })
    // Storage failing: no retryAfterMs from the relay, a 5 s pause.
    h.answer((i) => ({ kind: 'rejected', ...i, error: PlaceError.Unavailable, message: null, retryAfterMs: null, local: false }))
    h.setNow(100_000 + 1001)
    h.runner.flush()
    await settle()
    expect(h.runner.view()).toMatchObject({
      entry: { id: 'id3', sent: false },
      note: { kind: 'held', error: 'unavailable', retryAfterMs: 5000 },
    })
    h.runner.flush()
    await settle()
    expect(h.sent.map((s) => s.id)).toEqual(['id1', 'id2'])
    h.answer((i) => ({ kind: 'placed', ...i, placedAt: 2 }))
    h.setNow(100_000 + 1001 + 5001)
    h.runner.flush()
    await settle()
    expect(h.sent.map((s) => s.id)).toEqual(['id1', 'id2', 'id3'])
    expect(h.runner.view()).toEqual({ entry: null, note: null })
  })

  it('ends with the refusal, and refuses locally what cannot be queued', async () => {
    const h = harness(memoryStorage())
    await h.runner.place({ x: 1, y: 2, color: 1 })
    h.answer((i) => ({ kind: 'rejected', ...i, error: PlaceError.Protected, message: null, retryAfterMs: null, local: false }))
    h.setLive(true)
    h.runner.flush()
    await settle()
    expect(h.sent).toHaveLength(1)
    expect(h.runner.view()).toEqual({ entry: null, note: null })

    h.setLive(false)
    await h.runner.place({ x: 1, y: 2, color: 99 })
    expect(h.runner.view().note).toMatchObject({ kind: 'refused', error: 'bad-color' })
    h.lock()
    await h.runner.place({ x: 1, y: 2, color: 1 })
    expect(h.runner.view().note).toMatchObject({ kind: 'refused', error: 'locked' })
    expect(h.runner.view().entry).toBeNull()
  })
})
