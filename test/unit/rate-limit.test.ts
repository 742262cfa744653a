import { describe, expect, it } from 'vitest'
import { createKeyedLimiter } from '../../relay/rate-limit.ts'

describe('createKeyedLimiter', () => {
  it('gives each key its burst, then its rate', () => {
    const limiter = createKeyedLimiter(1, 3)
    expect([1, 2, 3, 4].map(() => limiter.take('a', 0))).toEqual([true, true, true, false])
    expect(limiter.take('b', 0)).toBe(true)
    expect(limiter.take('a', 999)).toBe(false)
    expect(limiter.take('a', 1000)).toBe(true)
  })

  it('holds at most maxKeys keys, however many arrive, evicting the least recently used', () => {
    const limiter = createKeyedLimiter(1, 2, 100)
    for (let i = 0; i < 10_000; i++) limiter.take(`k${i}`, 0)
    expect(limiter.size()).toBe(100)
    // k9900..k9999 are held; a new key gets a fresh bucket.
    expect(limiter.take('old', 0)).toBe(true)
    expect(limiter.take('old', 0)).toBe(true)
    expect(limiter.take('old', 0)).toBe(false)
    // A key in use is kept: it is used again before 100 others arrive.
    for (let i = 0; i < 99; i++) limiter.take(`n${i}`, 0)
    expect(limiter.take('old', 0)).toBe(false)
    expect(limiter.size()).toBe(100)
  })

  it('an evicted key gets a fresh bucket, never more: the burst, then the rate', () => {
    const limiter = createKeyedLimiter(1, 2, 2)
    limiter.take('a', 0)
    limiter.take('a', 0)
    limiter.take('b', 0)
    limiter.take('c', 0) // evicts a
    expect([1, 2, 3].map(() => limiter.take('a', 0))).toEqual([true, true, false])
  })

  it('forgets keys once their bucket is full again', () => {
    const limiter = createKeyedLimiter(1, 2)
    limiter.take('a', 0)
    limiter.take('b', 1500)
    expect(limiter.size()).toBe(2)
    limiter.take('c', 2500)
    expect(limiter.size()).toBe(2)
  })
})
