import { describe, expect, it } from 'vitest'
import { createInFlight } from '../../client/sync/in-flight.ts'
import type { PlacementState } from '../../client/sync/placement.ts'

describe('createInFlight', () => {
  const tile = { x: 3, y: 4, color: 5 }
  it('draws a pending placement, then an acknowledged one until the board next changes', () => {
    const board = new Map<string, number>()
    const inFlight = createInFlight((x, y) => board.get(`${x},${y}`) ?? 0)
    expect(inFlight.of({ kind: 'idle' } as PlacementState)).toBeNull()
    expect(inFlight.of({ kind: 'pending', ...tile } as PlacementState)).toEqual(tile)
    // Acknowledged before its broadcast: still drawn, across re-renders of the same state.
    const placed = { kind: 'placed', ...tile, placedAt: 1 } as PlacementState
    expect(inFlight.of(placed)).toEqual(tile)
    expect(inFlight.of(placed)).toEqual(tile)
    // The broadcast arrives: no longer drawn.
    board.set('3,4', 5)
    expect(inFlight.boardChanged()).toBe(true)
    expect(inFlight.of(placed)).toBeNull()
    expect(inFlight.boardChanged()).toBe(false)
  })

  it('draws nothing for an acknowledged placement the board already shows', () => {
    const inFlight = createInFlight(() => 5)
    expect(inFlight.of({ kind: 'placed', ...tile, placedAt: 1 } as PlacementState)).toBeNull()
    expect(inFlight.boardChanged()).toBe(false)
  })
})
