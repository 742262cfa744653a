/** Content negotiation of the static client (relay/static-files.ts): Accept-Encoding and If-None-Match. */
import { describe, expect, it } from 'vitest'
import { type ContentCoding, noneMatch, parseAcceptEncoding, pickCoding } from '../../relay/static-files.ts'

const BOTH = new Set<ContentCoding>(['br', 'gzip'])
const GZIP = new Set<ContentCoding>(['gzip'])
const NONE = new Set<ContentCoding>()

describe('Accept-Encoding', () => {
  it('parses codings with q values, lower case, x-gzip as gzip, malformed q as 0', () => {
    expect([...parseAcceptEncoding('gzip, deflate, br, zstd')]).toEqual([
      ['gzip', 1],
      ['deflate', 1],
      ['br', 1],
      ['zstd', 1],
    ])
    expect([...parseAcceptEncoding('BR;q=0.5 , x-gzip; q=0.25,identity;q=0,*;q=0.001')]).toEqual([
      ['br', 0.5],
      ['gzip', 0.25],
      ['identity', 0],
      ['*', 0.001],
    ])
    expect(parseAcceptEncoding('br;q=2, gzip;q=abc, zstd;q=0.1234').get('br')).toBe(0)
    expect(parseAcceptEncoding('br;q=2, gzip;q=abc').get('gzip')).toBe(0)
    expect(parseAcceptEncoding('zstd;q=0.1234').get('zstd')).toBe(0)
    expect(parseAcceptEncoding('').size).toBe(0)
    expect(parseAcceptEncoding(undefined).size).toBe(0)
    expect(parseAcceptEncoding(' , ,gzip').get('gzip')).toBe(1)
  })

  it('prefers br, then gzip, then identity among what is acceptable and available', () => {
    expect(pickCoding('gzip, deflate, br, zstd', BOTH)).toBe('br')
    expect(pickCoding('gzip, deflate, br', GZIP)).toBe('gzip')
    expect(pickCoding('gzip, br', NONE)).toBe('identity')
    expect(pickCoding('gzip', BOTH)).toBe('gzip')
    expect(pickCoding('deflate', BOTH)).toBe('identity')
    expect(pickCoding('*', BOTH)).toBe('br')
    // No header: identity (an old client may not decode anything).
    expect(pickCoding(undefined, BOTH)).toBe('identity')
    expect(pickCoding('', BOTH)).toBe('identity')
    expect(pickCoding('identity', BOTH)).toBe('identity')
  })

  it('honours q=0 and the client q order before the relay preference', () => {
    expect(pickCoding('br;q=0, gzip', BOTH)).toBe('gzip')
    expect(pickCoding('br;q=0, gzip;q=0', BOTH)).toBe('identity')
    expect(pickCoding('*;q=0, gzip', BOTH)).toBe('gzip')
    expect(pickCoding('br;q=0.5, gzip;q=1', BOTH)).toBe('gzip')
    expect(pickCoding('gzip;q=0.5, br;q=0.5', BOTH)).toBe('br')
    expect(pickCoding('br;q=0.1, identity;q=0.5', BOTH)).toBe('identity')
    // identity refused: a compressed variant if there is one acceptable, else identity all the same.
    expect(pickCoding('identity;q=0, gzip', BOTH)).toBe('gzip')
    expect(pickCoding('identity;q=0', BOTH)).toBe('identity')
    expect(pickCoding('*;q=0', NONE)).toBe('identity')
  })
})

describe('If-None-Match', () => {
  it('matches any listed tag under the weak comparison, and *', () => {
    expect(noneMatch('"abc"', '"abc"')).toBe(true)
    expect(noneMatch('W/"abc"', '"abc"')).toBe(true)
    expect(noneMatch('"x", W/"abc" ,"y"', '"abc"')).toBe(true)
    expect(noneMatch('*', '"abc"')).toBe(true)
    expect(noneMatch('"abc-br"', '"abc"')).toBe(false)
    expect(noneMatch('"ab"', '"abc"')).toBe(false)
    expect(noneMatch(undefined, '"abc"')).toBe(false)
    expect(noneMatch('', '"abc"')).toBe(false)
  })
})
