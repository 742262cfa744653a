/** node-kit/: the flag reader every program shares, and the time parser of flags and queries. */
import { describe, expect, it } from 'vitest'
import { flagsToEnv, namedFlagsToEnv, parseFlags, parseTimeFlag, readFlags, UsageError } from '../../node-kit/flags.ts'
import { parseDateString, parseTimeText } from '../../node-kit/time.ts'

describe('flags', () => {
  it('reads --name value and --name=value, the next argument being the value whatever it is', () => {
    expect(readFlags(['--a', '1', '--b=2', '--c', '--d', '--e=x=y'])).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '--d'],
      ['e', 'x=y'],
    ])
    expect(() => readFlags(['a'])).toThrow(new UsageError('unexpected argument "a"'))
    expect(() => readFlags(['-a', '1'])).toThrow(/unexpected argument/)
    expect(() => readFlags(['--a'])).toThrow('--a needs a value')
  })

  it('refuses unknown flags before reading their value, each program with its message', () => {
    expect(parseFlags(['--x', '1', '--x=2'], ['x'])).toEqual(new Map([['x', '2']]))
    expect(() => parseFlags(['--y'], ['x'])).toThrow('unknown flag --y (known: --x)')
    const names = { board: 'BOARDS', relay: 'RELAY' }
    expect(namedFlagsToEnv(['--board', 'a', '--board=b', '--relay', 'r'], names, ['BOARDS'])).toEqual({ BOARDS: 'a,b', RELAY: 'r' })
    expect(namedFlagsToEnv(['--relay', 'a', '--relay', 'b'], names, ['BOARDS'])).toEqual({ RELAY: 'b' })
    expect(() => namedFlagsToEnv(['--nope'], names)).toThrow('unknown flag --nope (known: board, relay)')
    expect(flagsToEnv(['--data-dir', '/x', '--port=1'])).toEqual({ DATA_DIR: '/x', PORT: '1' })
  })
})

describe('times', () => {
  it('takes ms since 1970 or an ISO 8601 date, and nothing Date.parse merely guesses', () => {
    expect(parseTimeText('0')).toBe(0)
    expect(parseTimeText('1700000000000')).toBe(1_700_000_000_000)
    expect(parseTimeText('2026-12-03T17:00:00Z')).toBe(Date.UTC(2026, 11, 3, 17))
    for (const bad of ['', 'yesterday', 'Dec 3 2026', '-1', '1234567890123456', '2026-13-45']) expect(parseTimeText(bad), bad).toBeNull()
    expect(parseTimeFlag('2026-12-03', 'from')).toBe(Date.UTC(2026, 11, 3))
    expect(() => parseTimeFlag('soon', 'from')).toThrow('--from must be ms since 1970 or an ISO 8601 date, got soon')
    expect(parseDateString('Dec 3 2026 UTC')).toBe(Date.UTC(2026, 11, 3))
    expect(parseDateString('soon')).toBeNull()
  })
})
