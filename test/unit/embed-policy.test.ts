/** What the relay allows embeds (relay/embed-policy.ts) and EMBED_PLACE_ORIGINS (relay/config.ts). */
import { describe, expect, it } from 'vitest'
import { parseRelayConfig } from '../../relay/config.ts'
import { embedPolicy } from '../../relay/embed-policy.ts'

describe('embed policy', () => {
  // Framing and who may take identities: test/unit/request-origin.test.ts.
  it('tells the /embed page every origin whose pages may take identities, once each', () => {
    expect(embedPolicy({ embedOrigins: [], embedPlaceOrigins: [] })).toEqual({ ok: true, placeOrigins: [] })
    expect(
      embedPolicy({ embedOrigins: ['https://frame.example', 'https://blog.example'], embedPlaceOrigins: ['https://blog.example'] }),
    ).toEqual({ ok: true, placeOrigins: ['https://blog.example', 'https://frame.example'] })
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
