import { describe, expect, it } from 'vitest'
import { embedFrameAncestors, isTrustedOrigin, mayTakeIdentity } from '../../relay/request-origin.ts'

describe('isTrustedOrigin', () => {
  it('trusts no Origin, the relay own origin over http or https, and the embedding origins', () => {
    expect(isTrustedOrigin(undefined, 'place.example', [])).toBe(true)
    expect(isTrustedOrigin('https://place.example', 'place.example', [])).toBe(true)
    expect(isTrustedOrigin('http://Place.Example:8080', 'place.example:8080', [])).toBe(true)
    expect(isTrustedOrigin('https://blog.example', 'place.example', ['https://blog.example'])).toBe(true)
    expect(isTrustedOrigin('https://evil.example', 'place.example', ['*'])).toBe(true)
  })

  it('refuses any other origin', () => {
    expect(isTrustedOrigin('https://evil.example', 'place.example', [])).toBe(false)
    expect(isTrustedOrigin('https://evil.example', 'place.example', ['https://blog.example'])).toBe(false)
    expect(isTrustedOrigin('https://place.example.evil.example', 'place.example', [])).toBe(false)
    expect(isTrustedOrigin('http://place.example:8081', 'place.example:8080', [])).toBe(false)
    expect(isTrustedOrigin('null', 'place.example', [])).toBe(false)
    expect(isTrustedOrigin('https://place.example', undefined, [])).toBe(false)
  })
})

describe('mayTakeIdentity', () => {
  const origins = { embedOrigins: ['https://frame.example'], embedPlaceOrigins: ['https://host.example'] }
  it('allows no Origin, the relay own origin, EMBED_PLACE_ORIGINS and EMBED_ORIGINS, and nothing else', () => {
    expect(mayTakeIdentity(undefined, 'place.example', origins)).toBe(true)
    expect(mayTakeIdentity('https://place.example', 'place.example', origins)).toBe(true)
    expect(mayTakeIdentity('https://host.example', 'place.example', origins)).toBe(true)
    expect(mayTakeIdentity('https://frame.example', 'place.example', origins)).toBe(true)
    expect(mayTakeIdentity('https://evil.example', 'place.example', origins)).toBe(false)
    expect(mayTakeIdentity('https://evil.example', 'place.example', { embedOrigins: [], embedPlaceOrigins: ['*'] })).toBe(true)
  })
})

describe('embedFrameAncestors', () => {
  it('lets anyone frame a read-only embed, and only the placing origins an interactive one', () => {
    const origins = { embedOrigins: ['https://frame.example'], embedPlaceOrigins: ['https://host.example'] }
    expect(embedFrameAncestors(true, origins)).toBe('*')
    expect(embedFrameAncestors(false, origins)).toBe("'self' https://host.example https://frame.example")
    expect(embedFrameAncestors(false, { embedOrigins: [], embedPlaceOrigins: [] })).toBe("'self'")
    expect(embedFrameAncestors(false, { embedOrigins: [], embedPlaceOrigins: ['*'] })).toBe('*')
  })
})
