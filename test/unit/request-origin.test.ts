import { describe, expect, it } from 'vitest'
import { isTrustedOrigin } from '../../relay/request-origin.ts'

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
