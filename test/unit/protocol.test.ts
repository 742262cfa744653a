import * as decoding from 'lib0/decoding'
import { describe, expect, it } from 'vitest'
import {
  encodeError,
  encodePlace,
  encodePlaceResult,
  encodeSession,
  MessageType,
  PLACE_ERROR_STATUS,
  PlaceError,
  readError,
  readPlace,
  readPlaceResult,
  readSession,
} from '../../shared/protocol.ts'

const body = (frame: Uint8Array, type: number) => {
  const dec = decoding.createDecoder(frame)
  expect(decoding.readVarUint(dec)).toBe(type)
  return dec
}

describe('protocol codecs', () => {
  it('round-trip Place, PlaceResult, Error and Session', () => {
    const place = { requestId: 7, x: 4095, y: 3, color: 31 }
    expect(readPlace(body(encodePlace(place), MessageType.Place))).toEqual(place)
    const ok = { ok: true, placedAt: 1_795_000_000_000, nextPlaceAt: 1_795_000_300_000 } as const
    expect(readPlaceResult(body(encodePlaceResult(9, ok), MessageType.PlaceResult))).toEqual({ requestId: 9, result: ok })
    const no = { ok: false, error: PlaceError.Cooldown, retryAfterMs: 1234 } as const
    expect(readPlaceResult(body(encodePlaceResult(10, no), MessageType.PlaceResult))).toEqual({ requestId: 10, result: no })
    expect(readError(body(encodeError('read-only', 'no'), MessageType.Error))).toEqual({ code: 'read-only', message: 'no' })
    expect(readSession(body(encodeSession('abc', 5), MessageType.Session))).toEqual({ user: 'abc', nextPlaceAt: 5 })
  })

  it('throws on truncated frames', () => {
    const frame = encodePlace({ requestId: 1, x: 300, y: 300, color: 1 })
    expect(() => readPlace(body(frame.subarray(0, 3), MessageType.Place))).toThrow()
  })

  it('maps every error to an HTTP status', () => {
    for (const e of Object.values(PlaceError)) expect(PLACE_ERROR_STATUS[e]).toBeGreaterThanOrEqual(400)
  })
})
