import { describe, expect, it } from 'vitest'
import { createAddressSet, formatAddressRange, limitKey, normaliseAddress, parseAddressRange } from '../../relay/ip-address.ts'

const range = (text: string) => {
  const r = parseAddressRange(text)
  return r ? formatAddressRange(r) : null
}

describe('normaliseAddress', () => {
  it('gives one spelling per host: IPv4-mapped IPv6 is IPv4, IPv6 is lower case and compressed', () => {
    expect(normaliseAddress('::ffff:127.0.0.3')).toBe('127.0.0.3')
    expect(normaliseAddress('::FFFF:7f00:3')).toBe('127.0.0.3')
    expect(normaliseAddress('127.0.0.3')).toBe('127.0.0.3')
    expect(normaliseAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1')
    expect(normaliseAddress('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1')
    expect(normaliseAddress('2001:0db8:0000:0001:0000:0000:0000:0000')).toBe('2001:db8:0:1::')
    expect(normaliseAddress('2001:db8:1:1:1:1:0:1')).toBe('2001:db8:1:1:1:1:0:1')
    expect(normaliseAddress('::')).toBe('::')
    expect(normaliseAddress('::1')).toBe('::1')
    expect(normaliseAddress('fe80::1%eth0')).toBe('fe80::1')
  })

  it('refuses anything that is not an address', () => {
    for (const bad of [
      '',
      'unknown',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.4:80',
      '[::1]',
      '::1/128',
      '1.2.3.4%eth0',
      'x'.repeat(16_000),
      ' 1.2.3.4',
    ]) {
      expect(normaliseAddress(bad), bad).toBeNull()
    }
  })
})

describe('limitKey', () => {
  it('keys IPv4 by address and IPv6 by its /64, whatever the spelling', () => {
    expect(limitKey('::ffff:10.1.2.3')).toBe('10.1.2.3')
    expect(limitKey('10.1.2.3')).toBe('10.1.2.3')
    expect(limitKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64')
    expect(limitKey('2001:DB8:1:2::1')).toBe('2001:db8:1:2::/64')
    expect(limitKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64')
    expect(limitKey('::1')).toBe('::/64')
  })

  it('keeps keys small even for text that is no address', () => {
    expect(limitKey('unknown')).toBe('unknown')
    expect(limitKey('x'.repeat(8000)).length).toBeLessThanOrEqual(64)
  })
})

describe('parseAddressRange', () => {
  it('reads addresses and CIDR ranges, normalised, bits beyond the prefix cleared', () => {
    expect(range('127.0.0.1')).toBe('127.0.0.1')
    expect(range('::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(range('10.0.0.0/8')).toBe('10.0.0.0/8')
    expect(range('10.1.2.3/8')).toBe('10.0.0.0/8')
    expect(range('10.1.2.3/32')).toBe('10.1.2.3')
    expect(range('0.0.0.0/0')).toBe('0.0.0.0/0')
    expect(range('2001:DB8::/32')).toBe('2001:db8::/32')
    expect(range('2001:db8:ffff::1/32')).toBe('2001:db8::/32')
    expect(range('::ffff:10.0.0.0/104')).toBe('10.0.0.0/8')
    expect(range(' 192.168.0.0/16 ')).toBe('192.168.0.0/16')
  })

  it('refuses anything else', () => {
    for (const bad of [
      '',
      'x',
      '10.0.0.0/33',
      '10.0.0.0/',
      '10.0.0.0/8/8',
      '10.0.0.0/-1',
      '2001:db8::/129',
      '/8',
      'x'.repeat(16_000),
      '10.0.0.0/08x',
    ]) {
      expect(parseAddressRange(bad), bad).toBeNull()
    }
  })
})

describe('createAddressSet', () => {
  it('holds every address of its ranges, in any spelling, and nothing else', () => {
    const set = createAddressSet(
      ['10.0.0.0/8', '2001:db8::/32', '127.0.0.3'].map((t) => parseAddressRange(t) as NonNullable<ReturnType<typeof parseAddressRange>>),
    )
    for (const inside of [
      '10.0.0.0',
      '10.255.255.255',
      '::ffff:10.9.8.7',
      '2001:db8::1',
      '2001:DB8:ffff::',
      '127.0.0.3',
      '::ffff:127.0.0.3',
    ]) {
      expect(set.has(inside), inside).toBe(true)
    }
    for (const outside of ['11.0.0.0', '9.255.255.255', '2001:db9::', '127.0.0.4', 'garbage', '']) {
      expect(set.has(outside), outside).toBe(false)
    }
    expect(createAddressSet([]).has('10.0.0.1')).toBe(false)
  })
})
