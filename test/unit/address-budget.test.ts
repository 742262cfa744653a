/** The per-address budget's sliding window (relay/address-budget.ts), on a clock the test passes. */
import { describe, expect, it } from 'vitest'
import { createAddressBudget } from '../../relay/address-budget.ts'

describe('address budget', () => {
  it('allows perWindow placements in any window of the cooldown, per address, and says when the next is allowed', () => {
    let windowMs = 1000
    const budget = createAddressBudget(3, () => windowMs)
    expect([0, 100, 200].map((t) => budget.take('a', t))).toEqual([0, 0, 0])
    expect(budget.take('a', 300)).toBe(700)
    expect(budget.take('b', 300)).toBe(0)
    expect(budget.take('a', 999)).toBe(1)
    // The oldest placement leaves the window at 1000, the next at 1100.
    expect(budget.take('a', 1000)).toBe(0)
    expect(budget.take('a', 1001)).toBe(99)
    // A reservation given back (its commit failed) frees its place.
    budget.giveBack('a', 1000)
    expect(budget.take('a', 1001)).toBe(0)
    // The window follows the board's cooldown live; a board without one has no budget.
    windowMs = 0
    for (let i = 0; i < 10; i++) expect(budget.take('a', 1002)).toBe(0)
  })

  it('is off with perWindow 0', () => {
    const budget = createAddressBudget(0, () => 300_000)
    for (let i = 0; i < 100; i++) expect(budget.take('a', i)).toBe(0)
  })
})
