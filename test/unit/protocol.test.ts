import * as decoding from 'lib0/decoding'
import { describe, expect, it } from 'vitest'
import {
  encodeConfig,
  encodeError,
  encodePlace,
  encodePlaceResult,
  encodeSession,
  encodeTiles,
  readConfig,
  readError,
  readPlace,
  readPlaceResult,
  readSession,
  readTiles,
} from '../../shared/frames.ts'
import { isPlacementId, MessageType, newPlacementId, PLACE_ERROR_STATUS, PlaceError, TILE_VALUE_BYTES } from '../../shared/protocol.ts'
import { encodeTileValue } from '../../shared/tile-codec.ts'

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
    const no = { ok: false, error: PlaceError.Cooldown, retryAfterMs: 1234, message: 'wait 2 s' } as const
    expect(readPlaceResult(body(encodePlaceResult(10, no), MessageType.PlaceResult))).toEqual({ requestId: 10, result: no })
    expect(readError(body(encodeError('read-only', 'no'), MessageType.Error))).toEqual({ code: 'read-only', message: 'no' })
    expect(readSession(body(encodeSession('abc', 5), MessageType.Session))).toEqual({ user: 'abc', nextPlaceAt: 5, banned: null })
    expect(readSession(body(encodeSession('abc', 5, ''), MessageType.Session))).toEqual({ user: 'abc', nextPlaceAt: 5, banned: '' })
  })

  it('carries an optional placement id after the colour; frames without one read as before', () => {
    const withId = { requestId: 7, x: 4095, y: 3, color: 31, id: 'Zk3_-9aQ0123456789abcd' }
    const frame = encodePlace(withId)
    expect(readPlace(body(frame, MessageType.Place))).toEqual(withId)
    // A client that sends no id: the same bytes as before ids existed, and no id read.
    const old = encodePlace({ requestId: 7, x: 4095, y: 3, color: 31 })
    expect([...old]).toEqual([MessageType.Place, 7, 0xff, 0x1f, 3, 31])
    expect(readPlace(body(old, MessageType.Place))).toEqual({ requestId: 7, x: 4095, y: 3, color: 31 })
    expect('id' in readPlace(body(old, MessageType.Place))).toBe(false)
    // The id frame is the old frame plus a trailing string: a relay reading only the old fields is unaffected.
    expect([...frame.subarray(0, old.length)]).toEqual([...old])
    // A truncated id throws rather than reading past the frame.
    expect(() => readPlace(body(frame.subarray(0, frame.length - 1), MessageType.Place))).toThrow()
  })

  it('makes placement ids of 22 base64url characters and checks their format', () => {
    const ids = new Set<string>()
    for (let i = 0; i < 100; i++) ids.add(newPlacementId((b) => crypto.getRandomValues(b)))
    expect(ids.size).toBe(100)
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(isPlacementId(id)).toBe(true)
    }
    expect(newPlacementId((b) => b.fill(0))).toBe('A'.repeat(22))
    expect(newPlacementId((b) => b.fill(255))).toBe(`${'_'.repeat(21)}w`)
    expect(
      Buffer.from(
        newPlacementId((b) => b.map((_, i) => i * 17)),
        'base64url',
      ),
    ).toEqual(Buffer.from(new Uint8Array(16).map((_, i) => i * 17)))
    for (const bad of ['', 'x'.repeat(65), 'a b', 'a+b', 'a/b', 'é', 7, null, undefined])
      expect(isPlacementId(bad), String(bad)).toBe(false)
    expect(isPlacementId('x'.repeat(64))).toBe(true)
  })

  it('throws on truncated frames', () => {
    const frame = encodePlace({ requestId: 1, x: 300, y: 300, color: 1 })
    expect(() => readPlace(body(frame.subarray(0, 3), MessageType.Place))).toThrow()
  })

  it('round-trip Tiles frames: 4 little-endian bytes a value after type, firstSeq and count', () => {
    const values = [encodeTileValue(0, 0, 0), encodeTileValue(8191, 8191, 31), encodeTileValue(12, 34, 5), 0x7fff_ffff]
    const frame = encodeTiles(300, values)
    // [105, varuint 300 (2 bytes), varuint 4, 16 bytes]
    expect(frame.length).toBe(1 + 2 + 1 + values.length * TILE_VALUE_BYTES)
    expect([...frame.subarray(0, 4)]).toEqual([MessageType.Tiles, 0xac, 0x02, 4])
    expect([...frame.subarray(4, 8)]).toEqual([0, 0, 0, 0])
    expect(new DataView(frame.buffer, frame.byteOffset + 8).getUint32(0, true)).toBe(encodeTileValue(8191, 8191, 31))
    const read = readTiles(body(frame, MessageType.Tiles))
    expect(read.firstSeq).toBe(300)
    expect([...read.values]).toEqual(values)
    // Any Uint32Array or array of values, and seqs past 2^32.
    const big = readTiles(body(encodeTiles(2 ** 40, new Uint32Array([7, 0xffff_ffff])), MessageType.Tiles))
    expect(big.firstSeq).toBe(2 ** 40)
    expect([...big.values]).toEqual([7, 0xffff_ffff])
  })

  it('encodes a cursor as a Tiles frame with no values', () => {
    const frame = encodeTiles(1, [])
    expect([...frame]).toEqual([MessageType.Tiles, 1, 0])
    const read = readTiles(body(frame, MessageType.Tiles))
    expect(read.firstSeq).toBe(1)
    expect(read.values).toEqual(new Uint32Array(0))
  })

  it('throws on truncated Tiles frames, also inside a larger buffer', () => {
    const frame = encodeTiles(9, [1, 2, 3])
    for (const end of [1, 2, 3, frame.length - 4, frame.length - 1]) {
      expect(() => readTiles(body(frame.subarray(0, end), MessageType.Tiles)), `cut at ${end}`).toThrow()
    }
    // A frame that claims more values than follow, read from a view into a larger buffer (lib0
    // would read past the view's end into the buffer otherwise).
    const lying = encodeTiles(9, [1, 2, 3])
    lying[2] = 4
    const backing = new Uint8Array(lying.length + 64)
    backing.set(lying)
    expect(() => readTiles(body(backing.subarray(0, lying.length), MessageType.Tiles))).toThrow(/truncated/)
  })

  it('round-trips Config frames as JSON', () => {
    const config = { id: 'main', width: 10, height: 20, palette: ['#ffffff'], shardSize: 16, cooldownMs: 0, locked: false, version: 3 }
    expect(readConfig(body(encodeConfig(config), MessageType.Config))).toEqual(config)
  })

  it('maps every error to an HTTP status', () => {
    for (const e of Object.values(PlaceError)) expect(PLACE_ERROR_STATUS[e]).toBeGreaterThanOrEqual(400)
  })
})
