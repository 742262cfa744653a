/** The NATS message codecs of issue 16 (shared/stream-messages.ts) and the scale-out settings (relay/config.ts). */
import { describe, expect, it } from 'vitest'
import { parseRelayConfig } from '../../relay/config.ts'
import { type PlacementRecord, RecordKind } from '../../shared/placement-record.ts'
import {
  CommitKind,
  type CommitMessage,
  decodeCommitMessage,
  decodePlaceReply,
  decodePlaceRequest,
  encodeCommitMessage,
  encodePlaceReply,
  encodePlaceRequest,
  streamNames,
} from '../../shared/stream-messages.ts'

describe('stream messages', () => {
  it('round-trips a Commit message: consecutive seqs, ids only where given, the update bytes', () => {
    const m: CommitMessage = {
      kind: CommitKind.Commit,
      docSeq: 1_000_001,
      records: [
        { seq: 1_000_000, x: 5, y: 7, color: 3, user: 'AAAAAAAAAAAAAAAA', placedAt: 1_764_763_200_000, kind: 0, ref: 0, id: 'p-1' },
        { seq: 1_000_001, x: 8191, y: 0, color: 31, user: 'admin', placedAt: 1_764_763_200_001, kind: 2, ref: 42 },
      ],
      update: new Uint8Array([1, 2, 3, 250]),
    }
    expect(decodeCommitMessage(encodeCommitMessage(m))).toEqual(m)
    const state: CommitMessage = { kind: CommitKind.State, docSeq: 0, records: [], update: new Uint8Array(0) }
    expect(decodeCommitMessage(encodeCommitMessage(state))).toEqual(state)
  })

  it('refuses a record of a kind no relay writes (a foreign or corrupt publisher), as an error', () => {
    const bytes = encodeCommitMessage({
      kind: CommitKind.Commit,
      docSeq: 1,
      records: [{ seq: 1, x: 0, y: 0, color: 1, user: 'u', placedAt: 1, kind: 5 as RecordKind, ref: 0 }],
      update: new Uint8Array(0),
    })
    expect(() => decodeCommitMessage(bytes)).toThrow(/record kind 5/)
  })

  it("carries one address pseudonym per record when given, appended: a message without decodes as before, and one with is read whole by an old reader's fields", () => {
    const records: PlacementRecord[] = [
      { seq: 7, x: 1, y: 2, color: 3, user: 'AAAAAAAAAAAAAAAA', placedAt: 1_764_763_200_000, kind: RecordKind.Placement, ref: 0 },
      { seq: 8, x: 4, y: 5, color: 6, user: '@admin', placedAt: 1_764_763_200_001, kind: RecordKind.Fill, ref: 0 },
    ]
    const m: CommitMessage = {
      kind: CommitKind.Commit,
      docSeq: 8,
      records,
      update: new Uint8Array([9]),
      addresses: ['pseudonym1234567', ''],
    }
    expect(decodeCommitMessage(encodeCommitMessage(m))).toEqual(m)
    const without = encodeCommitMessage({ ...m, addresses: undefined } as CommitMessage)
    expect(decodeCommitMessage(without)).not.toHaveProperty('addresses')
    // The fields before the section are byte for byte those of a message without it.
    expect(encodeCommitMessage(m).subarray(0, without.length)).toEqual(without)
    expect(() => encodeCommitMessage({ ...m, addresses: ['one'] })).toThrow(/one address/)
  })

  it("carries the writer's per-address cooldowns when given, appended after the addresses: old messages decode, and a reader that knows only addresses reads its fields", () => {
    const records: PlacementRecord[] = [
      { seq: 7, x: 1, y: 2, color: 3, user: 'AAAAAAAAAAAAAAAA', placedAt: 1_764_763_200_000, kind: RecordKind.Placement, ref: 0 },
      { seq: 8, x: 4, y: 5, color: 6, user: 'BBBBBBBBBBBBBBBB', placedAt: 1_764_763_200_001, kind: RecordKind.Placement, ref: 0 },
    ]
    const addressCooldowns = [
      { address: 'pseudonym1234567', placedAt: 1_764_763_200_001 },
      { address: 'pseudonym7654321', placedAt: 1_764_763_100_000 },
    ]
    const state: CommitMessage = { kind: CommitKind.State, docSeq: 8, records, update: new Uint8Array([9, 8]), addressCooldowns }
    expect(decodeCommitMessage(encodeCommitMessage(state))).toEqual(state)
    // None inside the window: an empty section, still a section.
    const none: CommitMessage = { ...state, records: [], addressCooldowns: [] }
    expect(decodeCommitMessage(encodeCommitMessage(none))).toEqual(none)
    // With addresses too: both sections, in order.
    const both: CommitMessage = { ...state, addresses: ['', 'pseudonym7654321'] }
    expect(decodeCommitMessage(encodeCommitMessage(both))).toEqual(both)

    // A message of a writer from before the section (with or without addresses) decodes without it.
    const old = encodeCommitMessage({ kind: CommitKind.State, docSeq: 8, records, update: new Uint8Array([9, 8]) })
    expect(decodeCommitMessage(old)).not.toHaveProperty('addressCooldowns')
    const oldWithAddresses = encodeCommitMessage({ ...both, addressCooldowns: undefined } as CommitMessage)
    expect(decodeCommitMessage(oldWithAddresses)).toEqual({ ...both, addressCooldowns: undefined })
    expect(decodeCommitMessage(oldWithAddresses)).not.toHaveProperty('addressCooldowns')
    // The bytes before the section are exactly such a message (with '' addresses when it has
    // none: what a reader that knows addresses but not cooldowns reads, and takes for "no address").
    const bytes = encodeCommitMessage(state)
    const asOld = encodeCommitMessage({ ...state, addressCooldowns: undefined, addresses: ['', ''] } as CommitMessage)
    expect(bytes.subarray(0, asOld.length)).toEqual(asOld)
    expect(bytes.length).toBeGreaterThan(asOld.length)
    expect(decodeCommitMessage(asOld)).not.toHaveProperty('addresses')
  })

  it('refuses bytes that are not a Commit message', () => {
    expect(() => decodeCommitMessage(new Uint8Array([2, 0, 0, 0, 0, 0]))).toThrow(/version 2/)
    expect(() => decodeCommitMessage(new Uint8Array([1, 9, 0, 0, 0, 0]))).toThrow(/kind 9/)
  })

  it('round-trips place requests and replies, and refuses others', () => {
    const req = { x: 1, y: 'two', color: 3, id: 'abc', user: 'u', ip: '127.0.0.1' }
    expect(decodePlaceRequest(encodePlaceRequest(req))).toEqual(req)
    expect(decodePlaceRequest(new Uint8Array([3, 0x7b, 0x7d, 0x20]))).toBeNull()
    const reply = { result: { ok: true, placedAt: 5, nextPlaceAt: 6 } as const, seq: 9 }
    expect(decodePlaceReply(encodePlaceReply(reply))).toEqual(reply)
    expect(decodePlaceReply(encodePlaceRequest(req))).toBeNull()
  })

  it('names a stream and subjects per board', () => {
    expect(streamNames('main-2')).toEqual({
      stream: 'TESSERA_main-2',
      commits: 'tessera.main-2.commits',
      place: 'tessera.main-2.place',
      presence: 'tessera.main-2.presence',
      state: 'tessera.main-2.state',
    })
  })
})

describe('scale-out settings', () => {
  it('is off without NATS_URL; a writer by default with it; an edge needs the writer secret', () => {
    expect(parseRelayConfig({}).nats).toBeNull()
    expect(parseRelayConfig({ NATS_URL: 'nats://127.0.0.1:4222' }).nats).toEqual({
      url: 'nats://127.0.0.1:4222',
      role: 'writer',
      streamMaxAgeMs: 3 * 24 * 3600 * 1000,
      streamMaxBytes: 1024 ** 3,
    })
    expect(() => parseRelayConfig({ NATS_URL: 'nats://x', RELAY_ROLE: 'edge' })).toThrow(/RELAY_SECRET/)
    expect(() => parseRelayConfig({ NATS_URL: 'nats://x', RELAY_ROLE: 'reader' })).toThrow(/writer or edge/)
    expect(() => parseRelayConfig({ RELAY_ROLE: 'edge' })).toThrow(/NATS_URL/)
    expect(() => parseRelayConfig({ RELAY_SECRET: 'short' })).toThrow(/32 bytes/)
    const secret = Buffer.alloc(32, 7).toString('base64url')
    expect(parseRelayConfig({ NATS_URL: 'nats://x', RELAY_ROLE: 'edge', RELAY_SECRET: secret })).toMatchObject({
      nats: { url: 'nats://x', role: 'edge' },
      relaySecret: secret,
    })
  })
})
