/**
 * IP addresses and ranges as the relay keys, bans and trusts them. Pure (node:net's isIP and
 * BlockList hold no I/O).
 *
 * Invariants: every address the relay keys anything by went through `normaliseAddress`, so one
 * host has one spelling (an IPv4 client seen through a dual-stack socket as `::ffff:1.2.3.4` is
 * `1.2.3.4`; IPv6 is lower case, RFC 5952 compressed, without a zone); limits key by
 * `limitKey`, which groups IPv6 by its /64 (one subscriber usually holds a whole /64, so keying
 * by the full address would give one host 2^64 budgets).
 */
import { BlockList, isIP } from 'node:net'

export type IpFamily = 'ipv4' | 'ipv6'

/** An address (prefix = 32 or 128) or a CIDR range, its bytes zero beyond the prefix. */
export type AddressRange = { family: IpFamily; bytes: Uint8Array; prefix: number }

/** Longest text taken as an address or range: the longest IPv6 spelling (45) plus "/128" and a zone. */
const MAX_TEXT = 64

/** Bytes of an IPv4 or IPv6 address as written, without unmapping; null if not an address. */
const parseRaw = (text: string): { family: IpFamily; bytes: Uint8Array } | null => {
  if (text.length > MAX_TEXT) return null
  const zone = text.indexOf('%')
  const bare = zone === -1 ? text : text.slice(0, zone)
  const version = isIP(bare)
  if (version === 4 && zone === -1) return { family: 'ipv4', bytes: Uint8Array.from(bare.split('.'), Number) }
  if (version !== 6) return null
  // isIP accepted it: at most one '::', hex groups of 1-4 digits, maybe a dotted IPv4 tail.
  const groups = (part: string): number[] => {
    if (part === '') return []
    return part.split(':').flatMap((g) => {
      if (!g.includes('.')) return [Number.parseInt(g, 16)]
      const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number]
      return [(a << 8) | b, (c << 8) | d]
    })
  }
  const [head = '', tail] = bare.split('::')
  const left = groups(head)
  const right = tail === undefined ? [] : groups(tail)
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  const bytes = new Uint8Array(16)
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8
    bytes[2 * i + 1] = g & 0xff
  })
  return { family: 'ipv6', bytes }
}

/** `::ffff:a.b.c.d` → the IPv4 address a.b.c.d; anything else unchanged. */
const unmap = (ip: { family: IpFamily; bytes: Uint8Array }): { family: IpFamily; bytes: Uint8Array } => {
  const b = ip.bytes
  if (ip.family === 'ipv6' && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return { family: 'ipv4', bytes: b.slice(12) }
  }
  return ip
}

/** Text of an address: dotted IPv4, or IPv6 with the longest run of 2+ zero groups as '::' (RFC 5952). */
const format = (family: IpFamily, bytes: Uint8Array): string => {
  if (family === 'ipv4') return bytes.join('.')
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number))
  let best = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      best = i
      bestLength = j - i
    }
    i = j === i ? i + 1 : j
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':')
  if (best === -1) return hex(groups)
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`
}

const fullPrefix = (family: IpFamily) => (family === 'ipv4' ? 32 : 128)

const mask = (bytes: Uint8Array, prefix: number): Uint8Array => {
  const out = bytes.slice()
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i))
    out[i] = (out[i] as number) & ((0xff << (8 - keep)) & 0xff)
  }
  return out
}

/**
 * The one spelling of an address: IPv4-mapped IPv6 becomes IPv4, IPv6 is lower case and
 * compressed, a zone (`%eth0`) is dropped. null if `text` is not an IPv4 or IPv6 address.
 */
export const normaliseAddress = (text: string): string | null => {
  const ip = parseRaw(text)
  if (!ip) return null
  const u = unmap(ip)
  return format(u.family, u.bytes)
}

/**
 * The key per-address limits use: the normalised IPv4 address, or an IPv6 address's /64 as
 * `2001:db8:1:2::/64`. Text that is not an address (the relay's own 'unknown') is its own key,
 * cut to 64 characters so a key is always small.
 */
export const limitKey = (address: string): string => {
  // Asked for on every placement (twice), by a few addresses at a time: parsing was 5% of a
  // saturated relay's thread (docs/PERFORMANCE.md). Bounded: cleared whole when full.
  const known = limitKeys.get(address)
  if (known !== undefined) return known
  const key = limitKeyOf(address)
  if (address.length > MAX_TEXT) return key
  if (limitKeys.size >= LIMIT_KEY_CACHE) limitKeys.clear()
  limitKeys.set(address, key)
  return key
}

/** Addresses (of at most MAX_TEXT characters) whose limit keys are remembered: under 1 MB. */
const LIMIT_KEY_CACHE = 4_096
const limitKeys = new Map<string, string>()

const limitKeyOf = (address: string): string => {
  const ip = parseRaw(address)
  if (!ip) return address.slice(0, MAX_TEXT)
  const u = unmap(ip)
  return u.family === 'ipv4' ? format('ipv4', u.bytes) : `${format('ipv6', mask(u.bytes, 64))}/64`
}

/**
 * Parses an address (`1.2.3.4`, `2001:db8::1`) or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`).
 * Bits beyond the prefix are cleared (`10.1.2.3/8` is `10.0.0.0/8`); an IPv4-mapped range with a
 * prefix of 96 or more is the IPv4 range it maps. null for anything else.
 */
export const parseAddressRange = (text: string): AddressRange | null => {
  const t = text.trim()
  const slash = t.indexOf('/')
  const ip = parseRaw(slash === -1 ? t : t.slice(0, slash))
  if (!ip) return null
  let prefix = fullPrefix(ip.family)
  if (slash !== -1) {
    const p = t.slice(slash + 1)
    if (!/^\d{1,3}$/.test(p) || Number(p) > prefix) return null
    prefix = Number(p)
  }
  const u = unmap(ip)
  if (u !== ip) {
    if (prefix < 96) return { family: 'ipv6', bytes: mask(ip.bytes, prefix), prefix }
    prefix -= 96
  }
  return { family: u.family, bytes: mask(u.bytes, prefix), prefix }
}

/** `1.2.3.4` for a single address, `10.0.0.0/8` for a range: the normalised text of a range. */
export const formatAddressRange = (r: AddressRange): string => {
  const address = format(r.family, r.bytes)
  return r.prefix === fullPrefix(r.family) ? address : `${address}/${r.prefix}`
}

/** A set of ranges answering membership of addresses (any spelling; non-addresses are never in it). */
export type AddressSet = { has: (address: string) => boolean }

export const createAddressSet = (ranges: readonly AddressRange[]): AddressSet => {
  const list = new BlockList()
  for (const r of ranges) list.addSubnet(format(r.family, r.bytes), r.prefix, r.family)
  return {
    has: (address) => {
      if (ranges.length === 0) return false
      const ip = parseRaw(address)
      if (!ip) return false
      const u = unmap(ip)
      return list.check(format(u.family, u.bytes), u.family)
    },
  }
}
