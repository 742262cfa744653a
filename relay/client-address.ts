/**
 * Which address a request comes from, behind zero or more reverse proxies (TRUST_PROXY). Pure.
 *
 * X-Forwarded-For is a list each proxy appends to: `client, proxy1, proxy2`, and the socket's
 * address is the last proxy's. Everything left of the first hop we trust to have appended
 * honestly was written by the client, so the walk goes from the right and stops at the first
 * address that is not a trusted proxy (express's `proxy-addr` semantics). The leftmost entry is
 * never taken on trust: a client can write anything there.
 */
import { type AddressRange, createAddressSet, normaliseAddress, parseAddressRange } from './ip-address.ts'

/**
 * How far to trust X-Forwarded-For: the last `hops` addresses of [entries…, socket address] are
 * proxies (0 = ignore the header), or any address in `ranges` is a proxy.
 */
export type TrustProxy = { kind: 'hops'; hops: number } | { kind: 'list'; ranges: readonly AddressRange[] }

/** Address of a request whose socket address is missing or not an address (a socket already closed). */
export const UNKNOWN_ADDRESS = 'unknown'

/** Most proxies a hop count may name; more is a configuration mistake. */
export const MAX_PROXY_HOPS = 16

/** Names accepted in a TRUST_PROXY list, as in proxy-addr. */
const NAMED_RANGES: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
}

/**
 * Parses TRUST_PROXY: empty, `false` (also 0, no, off) = no proxy; a hop count `1`..`16`
 * (`true`, yes, on = 1, kept from when the setting was a switch); or a comma-separated list of
 * addresses, CIDR ranges and the names loopback, linklocal, uniquelocal.
 */
export const parseTrustProxy = (raw: string | undefined): { ok: true; trust: TrustProxy } | { ok: false; error: string } => {
  const text = (raw ?? '').trim()
  if (text === '' || /^(false|no|off)$/i.test(text)) return { ok: true, trust: { kind: 'hops', hops: 0 } }
  if (/^(true|yes|on)$/i.test(text)) return { ok: true, trust: { kind: 'hops', hops: 1 } }
  if (/^\d+$/.test(text)) {
    const hops = Number(text)
    if (hops > MAX_PROXY_HOPS) return { ok: false, error: `a hop count must be in 0..${MAX_PROXY_HOPS}, got ${text}` }
    return { ok: true, trust: { kind: 'hops', hops } }
  }
  const ranges: AddressRange[] = []
  for (const item of text.split(',').map((s) => s.trim())) {
    for (const one of NAMED_RANGES[item.toLowerCase()] ?? [item]) {
      const range = parseAddressRange(one)
      if (!range) return { ok: false, error: `${JSON.stringify(item.slice(0, 64))} is not an address, a CIDR range or a name` }
      ranges.push(range)
    }
  }
  return { ok: true, trust: { kind: 'list', ranges } }
}

/**
 * A function from (X-Forwarded-For header, socket address) to the client's normalised address.
 * The walk starts at the socket address and moves left while the current address is a trusted
 * proxy; an entry that is not an address (garbage, `host:port`, `unknown`) stops it at the last
 * trusted hop, so what the client wrote is never returned unless it is an address that a trusted
 * proxy vouched for.
 */
export const createClientAddress = (trust: TrustProxy) => {
  const proxies = trust.kind === 'list' ? createAddressSet(trust.ranges) : null
  const isProxy = (address: string, hop: number) => (proxies ? proxies.has(address) : hop < (trust as { hops: number }).hops)
  return (forwarded: string | readonly string[] | undefined, socketAddress: string | undefined): string => {
    let current = normaliseAddress(socketAddress ?? '')
    if (current === null) return UNKNOWN_ADDRESS
    if (trust.kind === 'hops' && trust.hops === 0) return current
    // Node joins repeated X-Forwarded-For headers with ', '; an array is joined the same way.
    const entries = forwarded === undefined ? [] : (typeof forwarded === 'string' ? forwarded : forwarded.join(',')).split(',')
    let i = entries.length - 1
    for (let hop = 0; isProxy(current, hop); hop++) {
      if (i < 0) return current
      const next = normaliseAddress((entries[i--] as string).trim())
      if (next === null) return current
      current = next
    }
    return current
  }
}
