/** What the relay allows embeds (relay/embed-policy.ts) and EMBED_PLACE_ORIGINS (relay/config.ts). */
import { describe, expect, it } from 'vitest'
import { parseRelayConfig } from '../../relay/config.ts'
import { embedFrameAncestors, mayPlaceFrom } from '../../relay/embed-policy.ts'

describe('embed policy', () => {
  it('lets anyone frame a read-only /embed, and only the relay and EMBED_PLACE_ORIGINS an interactive one', () => {
    expect(embedFrameAncestors(true, [])).toBe('*')
    expect(embedFrameAncestors(false, [])).toBe("'self'")
    expect(embedFrameAncestors(false, ['https://a.example', 'https://b.example'])).toBe("'self' https://a.example https://b.example")
    expect(embedFrameAncestors(false, ['*'])).toBe('*')
  })

  it('gives identities to requests without Origin, from the relay itself, and from EMBED_PLACE_ORIGINS only', () => {
    expect(mayPlaceFrom(undefined, 'place.example', [])).toBe(true)
    expect(mayPlaceFrom('https://place.example', 'place.example', [])).toBe(true)
    expect(mayPlaceFrom('https://blog.example', 'place.example', [])).toBe(false)
    expect(mayPlaceFrom('https://blog.example', 'place.example', ['https://blog.example'])).toBe(true)
    expect(mayPlaceFrom('null', 'place.example', ['https://blog.example'])).toBe(false)
  })

  it('parses EMBED_PLACE_ORIGINS (default none) and refuses what is not an origin', () => {
    expect(parseRelayConfig({}).embedPlaceOrigins).toEqual([])
    expect(parseRelayConfig({ EMBED_PLACE_ORIGINS: 'https://blog.example, http://localhost:3000' }).embedPlaceOrigins).toEqual([
      'https://blog.example',
      'http://localhost:3000',
    ])
    expect(() => parseRelayConfig({ EMBED_PLACE_ORIGINS: 'blog.example' })).toThrow(/EMBED_PLACE_ORIGINS/)
  })
})
