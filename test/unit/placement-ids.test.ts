/** The placement ids a board remembers (relay/placement-ids.ts): bounds, waiters, sweeping. */
import { describe, expect, it } from 'vitest'
import { createPlacementIds } from '../../relay/placement-ids.ts'
import type { PlaceResult } from '../../shared/protocol.ts'

const OK: PlaceResult = { ok: true, placedAt: 1_000, nextPlaceAt: 61_000 }
const entry = (user: string, id: string, at = 1_000, outcome: PlaceResult | null = OK) => ({ user, id, x: 1, y: 2, color: 3, at, outcome })

describe('placement ids', () => {
  it('keeps the newest ids of each identity, at most perIdentity', () => {
    const ids = createPlacementIds({ perIdentity: 3, perBoard: 100 })
    for (let i = 0; i < 5; i++) ids.add(entry('a', `id${i}`, i))
    ids.add(entry('b', 'id0'))
    expect(ids.size()).toBe(4)
    expect(ids.get('a', 'id0')).toBeUndefined()
    expect(ids.get('a', 'id1')).toBeUndefined()
    expect(ids.get('a', 'id4')).toMatchObject({ user: 'a', id: 'id4', at: 4 })
    expect(ids.get('b', 'id0')).toMatchObject({ user: 'b' })
  })

  it('keeps at most perBoard ids in all, forgetting the oldest first', () => {
    const ids = createPlacementIds({ perIdentity: 3, perBoard: 10 })
    for (let i = 0; i < 25; i++) ids.add(entry(`user${i}`, 'same', i))
    expect(ids.size()).toBe(10)
    expect(ids.get('user14', 'same')).toBeUndefined()
    for (let i = 15; i < 25; i++) expect(ids.get(`user${i}`, 'same')).toBeDefined()
    // Forgetting through the board bound keeps each identity's list consistent.
    for (let i = 15; i < 25; i++) for (let k = 0; k < 3; k++) ids.add(entry(`user${i}`, `k${k}`, 100 + k))
    expect(ids.size()).toBe(10)
  })

  it('answers waiters when an entry settles, and forgets an entry dropped', () => {
    const ids = createPlacementIds({ perIdentity: 3, perBoard: 10 })
    const pending = ids.add(entry('a', 'p', 5, null))
    const heard: PlaceResult[] = []
    pending.waiters = [(r) => heard.push(r), (r) => heard.push(r)]
    ids.settle(pending, OK)
    expect(heard).toEqual([OK, OK])
    expect(ids.get('a', 'p')?.outcome).toEqual(OK)
    const other = ids.add(entry('a', 'q', 6, null))
    other.waiters = [(r) => heard.push(r)]
    const unavailable: PlaceResult = { ok: false, error: 'unavailable', message: 'the relay cannot write to its storage' }
    ids.drop(other, unavailable)
    expect(heard).toEqual([OK, OK, unavailable])
    expect(ids.get('a', 'q')).toBeUndefined()
    expect(ids.size()).toBe(1)
  })

  it('sweeps settled ids older than the cutoff, never pending ones', () => {
    const ids = createPlacementIds({ perIdentity: 16, perBoard: 100 })
    ids.add(entry('a', 'old', 10))
    ids.add(entry('a', 'pending', 10, null))
    ids.add(entry('a', 'new', 30))
    ids.sweep(20)
    expect(ids.get('a', 'old')).toBeUndefined()
    expect(ids.get('a', 'pending')).toBeDefined()
    expect(ids.get('a', 'new')).toBeDefined()
    expect(ids.size()).toBe(2)
    // An identity's list follows: adding up to its bound forgets nothing still in it wrongly.
    for (let i = 0; i < 14; i++) ids.add(entry('a', `n${i}`, 40))
    expect(ids.get('a', 'pending')).toBeDefined()
    ids.add(entry('a', 'last', 40))
    expect(ids.get('a', 'pending')).toBeUndefined()
  })
})
