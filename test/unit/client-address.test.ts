import { describe, expect, it } from 'vitest'
import { createClientAddress, parseTrustProxy, type TrustProxy, UNKNOWN_ADDRESS } from '../../relay/client-address.ts'

const trust = (raw: string): TrustProxy => {
  const parsed = parseTrustProxy(raw)
  if (!parsed.ok) throw new Error(parsed.error)
  return parsed.trust
}

describe('parseTrustProxy', () => {
  it('reads false, hop counts (true = 1) and lists of addresses, ranges and names', () => {
    for (const off of ['', 'false', 'off', 'no', '0']) expect(trust(off)).toEqual({ kind: 'hops', hops: 0 })
    expect(trust('true')).toEqual({ kind: 'hops', hops: 1 })
    expect(trust('1')).toEqual({ kind: 'hops', hops: 1 })
    expect(trust('3')).toEqual({ kind: 'hops', hops: 3 })
    const list = trust('10.0.0.0/8, 127.0.0.1,loopback')
    expect(list.kind).toBe('list')
    expect(list.kind === 'list' && list.ranges.length).toBe(4)
  })

  it('refuses anything else with a readable error', () => {
    for (const bad of ['17', 'maybe', '10.0.0.0/8,proxy.example', '10.0.0.0/40', '1.2.3.4,']) {
      const parsed = parseTrustProxy(bad)
      expect(parsed.ok, bad).toBe(false)
    }
  })
})

describe('createClientAddress', () => {
  it('ignores X-Forwarded-For without a trusted proxy, and normalises the socket address', () => {
    const addressOf = createClientAddress(trust('false'))
    expect(addressOf('6.6.6.6', '::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(addressOf(undefined, undefined)).toBe(UNKNOWN_ADDRESS)
  })

  it('with one hop takes the rightmost entry, never the leftmost one the client wrote', () => {
    const addressOf = createClientAddress(trust('1'))
    expect(addressOf('1.2.3.4', '10.0.0.1')).toBe('1.2.3.4')
    // The client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the address it saw.
    expect(addressOf('6.6.6.6, 1.2.3.4', '10.0.0.1')).toBe('1.2.3.4')
    expect(addressOf(['6.6.6.6', '1.2.3.4'], '10.0.0.1')).toBe('1.2.3.4')
    expect(addressOf('::FFFF:1.2.3.4', '10.0.0.1')).toBe('1.2.3.4')
    // No header: the proxy itself (a health check) is the client.
    expect(addressOf(undefined, '10.0.0.1')).toBe('10.0.0.1')
    expect(addressOf('', '10.0.0.1')).toBe('10.0.0.1')
  })

  it('with N hops skips N trusted hops from the right', () => {
    const addressOf = createClientAddress(trust('2'))
    expect(addressOf('6.6.6.6, 1.2.3.4, 10.0.0.2', '10.0.0.1')).toBe('1.2.3.4')
    expect(addressOf('10.0.0.2', '10.0.0.1')).toBe('10.0.0.2')
  })

  it('with a list takes the rightmost address that is not a trusted proxy', () => {
    const addressOf = createClientAddress(trust('10.0.0.0/8,127.0.0.1'))
    expect(addressOf('6.6.6.6, 1.2.3.4, 10.9.9.9', '::ffff:127.0.0.1')).toBe('1.2.3.4')
    // A socket that is not a trusted proxy is the client, whatever it claims.
    expect(addressOf('1.2.3.4', '5.5.5.5')).toBe('5.5.5.5')
    // Every hop trusted: the leftmost, which a trusted proxy wrote.
    expect(addressOf('10.1.1.1', '127.0.0.1')).toBe('10.1.1.1')
  })

  it('stops at a malformed entry and takes the last trusted hop, never the garbage', () => {
    const hops = createClientAddress(trust('2'))
    expect(hops('1.2.3.4, garbage', '10.0.0.1')).toBe('10.0.0.1')
    expect(hops('1.2.3.4:5678', '10.0.0.1')).toBe('10.0.0.1')
    const list = createClientAddress(trust('10.0.0.0/8'))
    expect(list(`1.2.3.4, ${'x'.repeat(8000)}`, '10.0.0.1')).toBe('10.0.0.1')
    expect(list('unknown, 10.0.0.2', '10.0.0.1')).toBe('10.0.0.2')
  })
})
