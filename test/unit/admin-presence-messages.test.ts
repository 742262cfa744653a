/** The admin call, Presence and bans message codecs of issue 16 (shared/stream-messages.ts), and which requests an edge forwards. */
import { describe, expect, it } from 'vitest'
import { isAdminApiRequest, tileReadBoard } from '../../relay/admin-forwarder.ts'
import {
  decodeAdminReply,
  decodeAdminRequest,
  decodeBans,
  decodePresenceMessage,
  encodeAdminReply,
  encodeAdminRequest,
  encodeBans,
  encodePresenceMessage,
  PRESENCE_HASH_BYTES,
} from '../../shared/stream-messages.ts'

describe('admin call messages', () => {
  it('round-trip a request and a reply with their bytes, and refuse others', () => {
    const req = {
      method: 'POST',
      path: '/api/admin/boards/main/fill?x=1',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: new TextEncoder().encode('{"x":1}'),
    }
    expect(decodeAdminRequest(encodeAdminRequest(req))).toEqual(req)
    const reply = { status: 403, headers: { 'content-type': 'application/json; charset=utf-8' }, body: new Uint8Array([0, 255, 7]) }
    expect(decodeAdminReply(encodeAdminReply(reply))).toEqual(reply)
    expect(decodeAdminRequest(new Uint8Array([2]))).toBeNull()
    expect(decodeAdminRequest(encodeAdminRequest({ ...req, path: 'api/admin' }))).toBeNull()
    expect(decodeAdminRequest(encodeAdminRequest({ ...req, headers: { a: 1 } as unknown as Record<string, string> }))).toBeNull()
    expect(decodeAdminReply(encodeAdminReply({ ...reply, status: 42 }))).toBeNull()
    expect(decodeAdminReply(new Uint8Array([1, 200]))).toBeNull()
  })

  it("carry the client's address when given, and decode a request of an edge from before the field (no address)", () => {
    const req = { method: 'GET', path: '/api/admin/audit', headers: { authorization: 'Bearer t' }, body: new Uint8Array(0) }
    const withAddress = { ...req, address: '203.0.113.7' }
    expect(decodeAdminRequest(encodeAdminRequest(withAddress))).toEqual(withAddress)
    const old = encodeAdminRequest(req)
    expect(decodeAdminRequest(old)).toEqual(req)
    expect(decodeAdminRequest(old)).not.toHaveProperty('address')
    // An old writer's reading stops before the address: the bytes before it are exactly an old request.
    const bytes = encodeAdminRequest(withAddress)
    expect(bytes.subarray(0, old.length)).toEqual(old)
  })

  it('are what an edge forwards: the admin API as the API routes it, and nothing else', () => {
    for (const url of [
      '/api/admin',
      '/api/admin/',
      '/api/admin?x=1',
      '/api/admin/bans',
      '/api/%61dmin/bans',
      '/api//admin/x',
      'http://edge/api/admin/audit',
    ])
      expect(isAdminApiRequest(url), url).toBe(true)
    for (const url of ['/admin', '/admin/', '/api/administrator', '/api/boards/main', '/api/%zz/admin', '/', undefined])
      expect(isAdminApiRequest(url), String(url)).toBe(false)
  })
})

describe('Presence messages', () => {
  it('round-trip, read a version 1 message as one whole publication, and refuse counts that do not match the bytes', () => {
    const hashes = [new Uint8Array(PRESENCE_HASH_BYTES).fill(1), new Uint8Array(PRESENCE_HASH_BYTES).fill(200)]
    const m = { relay: 'abc123', round: 7, index: 1, count: 3, total: 5, hashes }
    expect(decodePresenceMessage(encodePresenceMessage(m))).toEqual(m)
    const none = { relay: 'x', round: 1, index: 0, count: 1, total: 0, hashes: [] }
    expect(decodePresenceMessage(encodePresenceMessage(none))).toEqual(none)
    const bytes = encodePresenceMessage(m)
    expect(decodePresenceMessage(bytes.subarray(0, bytes.length - 1))).toBeNull()
    expect(decodePresenceMessage(encodePresenceMessage({ ...m, total: 1 }))).toBeNull()
    expect(decodePresenceMessage(encodePresenceMessage({ ...m, index: 3 }))).toBeNull()
    expect(decodePresenceMessage(new Uint8Array([2, 0]))).toBeNull()
    expect(decodePresenceMessage(new Uint8Array([3, 0, 0, 0]))).toBeNull()
    // Version 1 (a relay before parts): [1, relay id, total, n, hashes].
    const v1 = Uint8Array.of(1, 1, 'r'.charCodeAt(0), 4, 1, ...(hashes[0] as Uint8Array))
    expect(decodePresenceMessage(v1)).toEqual({ relay: 'r', round: 0, index: 0, count: 1, total: 4, hashes: [hashes[0]] })
  })
})

describe('bans messages', () => {
  it('round-trip the writer list, and refuse anything that is not a list of bans', () => {
    const bans = [
      { kind: 'user' as const, target: 'u1', reason: 'spam', at: 5 },
      { kind: 'ip' as const, target: '10.0.0.0/8', reason: '', at: 6 },
    ]
    expect(decodeBans(encodeBans(bans))).toEqual(bans)
    expect(decodeBans(encodeBans([]))).toEqual([])
    expect(decodeBans(encodeBans([{ kind: 'room', target: 'x', reason: '', at: 1 } as never]))).toBeNull()
    expect(decodeBans(encodeBans([{ kind: 'user', target: 7, reason: '', at: 1 } as never]))).toBeNull()
    expect(decodeBans(new Uint8Array([3, 1, 2]))).toBeNull()
  })
})

describe('tile reads an edge may forward', () => {
  it('are GETs of a tile or its history, routed as the API routes them', () => {
    expect(tileReadBoard('GET', '/api/boards/main/tiles/3/7')).toBe('main')
    expect(tileReadBoard('GET', '/api/boards/b-2/tiles/0/0/history?before=9')).toBe('b-2')
    expect(tileReadBoard('GET', '/api/boards/%6Dain/tiles/1/1')).toBe('main')
    for (const url of [
      '/api/boards/main',
      '/api/boards/main/tiles/1',
      '/api/boards/main/tiles/1/2/other',
      '/api/boards/main/place',
      '/api/%zz',
    ])
      expect(tileReadBoard('GET', url), url).toBeNull()
    expect(tileReadBoard('POST', '/api/boards/main/tiles/3/7')).toBeNull()
  })
})
