/** shared/snapshot-sidecar.ts fromBase64: the pure decoder answers as atob does. */
import { describe, expect, it } from 'vitest'
import { fromBase64 } from '../../shared/snapshot-sidecar.ts'
import { prng } from '../helpers/prng.ts'

const viaAtob = (text: string): Uint8Array => Uint8Array.from(atob(text), (c) => c.charCodeAt(0))

describe('fromBase64', () => {
  it('decodes what Buffer encodes, of every length, as atob does', () => {
    const rnd = prng(14)
    for (let n = 0; n < 64; n++) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256))
      const text = Buffer.from(bytes).toString('base64')
      expect(fromBase64(text)).toEqual(bytes)
      expect(fromBase64(text)).toEqual(viaAtob(text))
      const unpadded = text.replace(/=+$/, '')
      expect(fromBase64(unpadded)).toEqual(viaAtob(unpadded))
    }
  })

  it('ignores whitespace and refuses what atob refuses', () => {
    expect(fromBase64(' QU\nJD ')).toEqual(viaAtob(' QU\nJD '))
    for (const bad of ['A', 'QQ=', 'Q=Q=', 'QUJD-', 'QUJD_', 'QU JD=', '€€€€', 'QUJDR===']) {
      expect(() => viaAtob(bad), bad).toThrow()
      expect(() => fromBase64(bad), bad).toThrow()
    }
  })
})
