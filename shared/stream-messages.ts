/**
 * What a writer relay and its edge relays say to each other over NATS (issue 16; layout in
 * docs/PROTOCOL.md "Scaling out"): the names of each board's JetStream stream and subjects, the
 * Commit message the writer publishes after each durable commit, and the placement request and
 * reply an edge forwards. Pure codecs: encode and decode, no I/O.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { isRecordKind, type PlacementRecord } from './placement-record.ts'
import type { PlaceResult } from './protocol.ts'

/** NATS names of a board (board ids match BOARD_ID_PATTERN: [a-z0-9_-], valid in both). */
export const streamNames = (board: string) =>
  ({
    /** The JetStream stream holding the board's commits, in commit order. */
    stream: `TESSERA_${board}`,
    /** The subject the writer publishes Commit messages to (the stream's only subject). */
    commits: `tessera.${board}.commits`,
    /** The subject the writer answers placement requests on (request/reply, not in a stream). */
    place: `tessera.${board}.place`,
    /** The subject every relay publishes its Presence message for the board to (plain publish, not in a stream). */
    presence: `tessera.${board}.presence`,
    /** The subject the writer answers State requests on (request/reply): an edge that cannot follow the stream from where it is. */
    state: `tessera.${board}.state`,
  }) as const

/** Header of every Commit message: the last history seq the board holds after it (decimal). */
export const SEQ_HEADER = 'Tessera-Seq'

/**
 * Header of every Commit message: the writer document's clock with this message applied (the sum
 * of its state vector's clocks, decimal). Every transaction of the sole writer inserts at least
 * one item, so the clock grows with every update: a stream whose last message carries the
 * writer's seq and clock holds everything the writer's document holds.
 */
export const CLOCK_HEADER = 'Tessera-Clock'

/** What a Commit message carries. */
export const CommitKind = {
  /** One or more commits, as they were made (records and the update of their transactions). */
  Commit: 0,
  /**
   * The writer's whole document (a state update) with the records after a given seq: what a
   * writer publishes when it starts and the stream lacks some of its commits (the records after
   * the stream's last message), and what it publishes when an edge asks (a State request: the
   * records after the edge's last seq, or the last of them when too many). It holds every commit published
   * before it. Applying it is idempotent (Yjs updates are); an edge rebuilds its bitmap from it.
   */
  State: 1,
} as const
export type CommitKind = (typeof CommitKind)[keyof typeof CommitKind]

/**
 * A Commit message: records with consecutive seqs (none, for a configuration change), and the
 * Yjs update that wrote them (empty: none). `docSeq`: the last history seq the writer's
 * document holds with this message applied (= the last record's seq when there are records).
 * `addresses` (per-address cooldowns, PER_IP_COOLDOWN on the writer): for each record, in the
 * same order, the pseudonym of the client address whose cooldown its placement started ('' for
 * a record that started none: an admin's write, a restore), so that edges' Session frames count
 * per-address cooldowns as the writer does; absent when the writer keeps none, and in messages of
 * writers from before the field (the section is appended: such a writer's edges ignore it).
 */
export type CommitMessage = {
  kind: CommitKind
  docSeq: number
  records: PlacementRecord[]
  update: Uint8Array
  addresses?: string[]
  /**
   * The writer's per-address cooldowns still inside the window when the message was taken (a State:
   * PER_IP_COOLDOWN on the writer), by address pseudonym, so that an edge that bootstraps or
   * repairs from a State counts them in its Session frames as if it had followed every commit.
   * Not per record: the history keeps no addresses, so a State's records (read from it) cannot
   * name theirs, and the entries that matter need not belong to a record the State carries (it
   * carries at most the last 100,000, or those after the stream's last message; a previous run's
   * saved entries have no record here at all). Absent: the writer sent none.
   */
  addressCooldowns?: AddressCooldown[]
}

/** One per-address cooldown: the address's pseudonym (as in `addresses`) and when it last placed, ms since the Unix epoch. */
export type AddressCooldown = { address: string; placedAt: number }

/** Flag bit of a shipped record's kind: its placement id follows. */
const HAS_ID = 0x80

/**
 * Encodes a Commit message: [version 1, kind, docSeq, count, firstSeq, count x (x, y, color,
 * placedAt, kind | HAS_ID, ref, user, id?), update bytes (varuint length + bytes), only with
 * `addresses` or `addressCooldowns`: count x address pseudonym, and only with `addressCooldowns`:
 * n, n x (pseudonym, placedAt)], varuints and lib0 strings. Each section is appended after the
 * last, so a reader of before it decodes the rest and stops there; the addresses section is
 * written ('' each) when only the cooldowns are sent, because a reader that knows addresses but
 * not cooldowns takes any bytes after the update for count addresses.
 */
export const encodeCommitMessage = (m: CommitMessage): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, 1)
  encoding.writeVarUint(enc, m.kind)
  encoding.writeVarUint(enc, m.docSeq)
  encoding.writeVarUint(enc, m.records.length)
  encoding.writeVarUint(enc, m.records[0]?.seq ?? 0)
  for (const r of m.records) {
    encoding.writeVarUint(enc, r.x)
    encoding.writeVarUint(enc, r.y)
    encoding.writeVarUint(enc, r.color)
    encoding.writeVarUint(enc, r.placedAt)
    encoding.writeVarUint(enc, r.kind | (r.id === undefined ? 0 : HAS_ID))
    encoding.writeVarUint(enc, r.ref)
    encoding.writeVarString(enc, r.user)
    if (r.id !== undefined) encoding.writeVarString(enc, r.id)
  }
  encoding.writeVarUint8Array(enc, m.update)
  if (m.addresses !== undefined) {
    if (m.addresses.length !== m.records.length) throw new Error("a commit message needs one address (or '') per record")
    for (const a of m.addresses) encoding.writeVarString(enc, a)
  } else if (m.addressCooldowns !== undefined) for (let i = 0; i < m.records.length; i++) encoding.writeVarString(enc, '')
  if (m.addressCooldowns !== undefined) {
    encoding.writeVarUint(enc, m.addressCooldowns.length)
    for (const c of m.addressCooldowns) {
      encoding.writeVarString(enc, c.address)
      encoding.writeVarUint(enc, c.placedAt)
    }
  }
  return encoding.toUint8Array(enc)
}

/** Decodes a Commit message; throws on bytes that are not one (a bug or a foreign publisher). */
export const decodeCommitMessage = (bytes: Uint8Array): CommitMessage => {
  const dec = decoding.createDecoder(bytes)
  const version = decoding.readVarUint(dec)
  if (version !== 1) throw new Error(`commit message version ${version} is not 1`)
  const kind = decoding.readVarUint(dec)
  if (kind !== CommitKind.Commit && kind !== CommitKind.State) throw new Error(`commit message kind ${kind} is unknown`)
  const docSeq = decoding.readVarUint(dec)
  const count = decoding.readVarUint(dec)
  const firstSeq = decoding.readVarUint(dec)
  const records: PlacementRecord[] = []
  for (let i = 0; i < count; i++) {
    const x = decoding.readVarUint(dec)
    const y = decoding.readVarUint(dec)
    const color = decoding.readVarUint(dec)
    const placedAt = decoding.readVarUint(dec)
    const k = decoding.readVarUint(dec)
    const ref = decoding.readVarUint(dec)
    const user = decoding.readVarString(dec)
    const recordKind = k & ~HAS_ID
    if (!isRecordKind(recordKind)) throw new Error(`record kind ${recordKind} is unknown`)
    const r: PlacementRecord = { seq: firstSeq + i, x, y, color, user, placedAt, kind: recordKind, ref }
    if (k & HAS_ID) r.id = decoding.readVarString(dec)
    records.push(r)
  }
  const update = decoding.readVarUint8Array(dec)
  const m: CommitMessage = { kind, docSeq, records, update }
  // Bytes after the update: the addresses section (a writer from before it sends none).
  if (dec.pos === bytes.length) return m
  const addresses: string[] = []
  for (let i = 0; i < count; i++) addresses.push(decoding.readVarString(dec))
  // All '' says no record started a cooldown: the filler written before a cooldowns section.
  if (addresses.some((a) => a !== '')) m.addresses = addresses
  // Bytes after the addresses: the cooldowns section (a writer from before it sends none).
  if (dec.pos === bytes.length) return m
  const n = decoding.readVarUint(dec)
  const cooldowns: AddressCooldown[] = []
  for (let i = 0; i < n; i++) cooldowns.push({ address: decoding.readVarString(dec), placedAt: decoding.readVarUint(dec) })
  m.addressCooldowns = cooldowns
  return m
}

/** A placement an edge forwards to the writer: the intent as the client sent it, and who placed it. */
export type PlaceRequest = {
  x: unknown
  y: unknown
  color: unknown
  id?: unknown
  user: string
  /** The client's address as the edge determined it (cooldowns and budgets per address). */
  ip: string
}

/**
 * The writer's answer: the placement's outcome, sent once it is durable and broadcast, and the
 * history seq the writer's document held then (the edge answers its client once it has applied
 * that far, so that the client sees its tile with the answer, as from the writer).
 */
export type PlaceReply = { result: PlaceResult; seq: number }

/** Place requests and replies are small and rare next to commits: JSON, as one lib0 string (varuint length, UTF-8). */
const encodeJson = (v: unknown): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarString(enc, JSON.stringify(v))
  return encoding.toUint8Array(enc)
}
const decodeJson = (bytes: Uint8Array): unknown => JSON.parse(decoding.readVarString(decoding.createDecoder(bytes)))

export const encodePlaceRequest = (r: PlaceRequest): Uint8Array => encodeJson(r)

/** Decodes a place request; null if it is not one. */
export const decodePlaceRequest = (bytes: Uint8Array): PlaceRequest | null => {
  try {
    const v = decodeJson(bytes) as Partial<PlaceRequest> | null
    if (!v || typeof v !== 'object' || typeof v.user !== 'string' || typeof v.ip !== 'string') return null
    return v as PlaceRequest
  } catch {
    return null
  }
}

export const encodePlaceReply = (r: PlaceReply): Uint8Array => encodeJson(r)

/** Decodes the writer's reply; null if it is not one. */
export const decodePlaceReply = (bytes: Uint8Array): PlaceReply | null => {
  try {
    const v = decodeJson(bytes) as Partial<PlaceReply> | null
    if (!v || typeof v !== 'object' || typeof v.seq !== 'number' || typeof v.result?.ok !== 'boolean') return null
    return v as PlaceReply
  } catch {
    return null
  }
}

/**
 * The subject the writer answers admin calls on (request/reply, not in a stream): one for all
 * boards, since some admin routes are not a board's (bans, the audit log).
 */
export const ADMIN_SUBJECT = 'tessera.admin'

/**
 * The subject the writer answers tile reads on (request/reply, same layouts as admin calls): an
 * edge whose history starts after the writer's (it bootstrapped from a State) forwards a board's
 * tile and tile-history reads, which it cannot answer from what it holds.
 */
export const READ_SUBJECT = 'tessera.read'

/** An HTTP admin call an edge forwards to the writer: as the client sent it, minus the headers that do not matter. */
export type AdminRequest = {
  method: string
  /** Path and query, as in the request line (/api/admin/...?...). */
  path: string
  /** Lower-case names; only those that the admin API reads (relay/admin-forwarder.ts). */
  headers: Record<string, string>
  body: Uint8Array
  /**
   * The client's address as the edge resolved it (TRUST_PROXY): the writer's handler sees the
   * request as coming from it (audit log, per-address limits). Absent in requests of edges from
   * before the field: the writer then sees its own loopback address, as it did.
   */
  address?: string
}

/** The writer's HTTP answer to an admin call: status, its headers (lower-case, no hop-by-hop ones), body bytes. */
export type AdminReply = { status: number; headers: Record<string, string>; body: Uint8Array }

/**
 * Encodes an admin request: [version 1, method, path, headers as a JSON object, body (varuint
 * length + bytes), and only with an address: the address (string)]. The address is appended
 * rather than a new version: a writer from before it decodes the rest and ignores it.
 */
export const encodeAdminRequest = (r: AdminRequest): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, 1)
  encoding.writeVarString(enc, r.method)
  encoding.writeVarString(enc, r.path)
  encoding.writeVarString(enc, JSON.stringify(r.headers))
  encoding.writeVarUint8Array(enc, r.body)
  if (r.address !== undefined) encoding.writeVarString(enc, r.address)
  return encoding.toUint8Array(enc)
}

const stringRecord = (v: unknown): Record<string, string> | null =>
  v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
    ? (v as Record<string, string>)
    : null

/** Decodes an admin request; null if it is not one. */
export const decodeAdminRequest = (bytes: Uint8Array): AdminRequest | null => {
  try {
    const dec = decoding.createDecoder(bytes)
    if (decoding.readVarUint(dec) !== 1) return null
    const method = decoding.readVarString(dec)
    const path = decoding.readVarString(dec)
    const headers = stringRecord(JSON.parse(decoding.readVarString(dec)))
    const body = decoding.readVarUint8Array(dec)
    if (!headers || !path.startsWith('/')) return null
    return dec.pos === bytes.length
      ? { method, path, headers, body }
      : { method, path, headers, body, address: decoding.readVarString(dec) }
  } catch {
    return null
  }
}

/** Encodes the writer's answer: [version 1, status, headers as a JSON object, body (varuint length + bytes)]. */
export const encodeAdminReply = (r: AdminReply): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, 1)
  encoding.writeVarUint(enc, r.status)
  encoding.writeVarString(enc, JSON.stringify(r.headers))
  encoding.writeVarUint8Array(enc, r.body)
  return encoding.toUint8Array(enc)
}

/** Decodes the writer's answer; null if it is not one. */
export const decodeAdminReply = (bytes: Uint8Array): AdminReply | null => {
  try {
    const dec = decoding.createDecoder(bytes)
    if (decoding.readVarUint(dec) !== 1) return null
    const status = decoding.readVarUint(dec)
    const headers = stringRecord(JSON.parse(decoding.readVarString(dec)))
    const body = decoding.readVarUint8Array(dec)
    return headers && status >= 100 && status < 600 ? { status, headers, body } : null
  } catch {
    return null
  }
}

/** Bytes of one identity's hash in a Presence message (a truncated SHA-256 of the identity). */
export const PRESENCE_HASH_BYTES = 8

/**
 * A relay's people on one board (on the board's presence subject): who has a page open on it
 * at this relay, as identity hashes, so that relays count distinct people across them (one
 * person with tabs on two relays counts once). One publication (`round`, counted per relay and
 * board) names all of them, in `count` messages numbered `index` 0..count-1 when they are more
 * than one message holds (shared/presence-parts.ts); `total` >= the hashes of all its messages
 * together: people beyond those named are counted, not named (a version 1 message, of a relay
 * before parts, named at most 100,000).
 */
export type PresenceMessage = { relay: string; round: number; index: number; count: number; total: number; hashes: Uint8Array[] }

/**
 * Encodes a Presence message: [version 2, relay id, round, index, count, total, n,
 * n x PRESENCE_HASH_BYTES bytes] (varuints, the relay id a lib0 string).
 */
export const encodePresenceMessage = (m: PresenceMessage): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, 2)
  encoding.writeVarString(enc, m.relay)
  encoding.writeVarUint(enc, m.round)
  encoding.writeVarUint(enc, m.index)
  encoding.writeVarUint(enc, m.count)
  encoding.writeVarUint(enc, m.total)
  encoding.writeVarUint(enc, m.hashes.length)
  for (const h of m.hashes) encoding.writeUint8Array(enc, h)
  return encoding.toUint8Array(enc)
}

/**
 * Decodes a Presence message; null if it is not one. A version 1 message ([1, relay id, total,
 * n, hashes]: one message a publication) reads as round 0, part 0 of 1.
 */
export const decodePresenceMessage = (bytes: Uint8Array): PresenceMessage | null => {
  try {
    const dec = decoding.createDecoder(bytes)
    const version = decoding.readVarUint(dec)
    if (version !== 1 && version !== 2) return null
    const relay = decoding.readVarString(dec)
    const round = version === 2 ? decoding.readVarUint(dec) : 0
    const index = version === 2 ? decoding.readVarUint(dec) : 0
    const count = version === 2 ? decoding.readVarUint(dec) : 1
    const total = decoding.readVarUint(dec)
    const n = decoding.readVarUint(dec)
    if (index >= count || n > total || n * PRESENCE_HASH_BYTES !== bytes.length - dec.pos) return null
    const hashes: Uint8Array[] = []
    for (let i = 0; i < n; i++) hashes.push(decoding.readUint8Array(dec, PRESENCE_HASH_BYTES))
    return { relay, round, index, count, total, hashes }
  } catch {
    return null
  }
}

/**
 * An edge's State request (on `tessera.<board>.state`): it holds history up to seq `after` and
 * cannot follow the stream from there (the stream no longer holds the next message, or lost
 * one). `full`: it needs the records after `after` (a running edge that serves clients: the
 * writer sends up to the last 1,000,000); else the writer sends at most the last 100,000 (an
 * edge starting up, whose history then lacks those before).
 */
export type StateRequest = { after: number; full: boolean }

/**
 * The writer's answer, once the State message is in the stream: `streamSeq` is the stream
 * sequence of its first stream message (an edge follows the stream from there), `docSeq` the
 * history seq it holds. Or a refusal (the writer is closing).
 */
export type StateReply = { ok: true; streamSeq: number; docSeq: number } | { ok: false; message: string }

export const encodeStateRequest = (r: StateRequest): Uint8Array => encodeJson(r)

/** Decodes a State request; null if it is not one. */
export const decodeStateRequest = (bytes: Uint8Array): StateRequest | null => {
  try {
    const v = decodeJson(bytes) as Partial<StateRequest> | null
    if (!v || typeof v !== 'object' || !Number.isSafeInteger(v.after) || (v.after as number) < 0 || typeof v.full !== 'boolean') return null
    return v as StateRequest
  } catch {
    return null
  }
}

export const encodeStateReply = (r: StateReply): Uint8Array => encodeJson(r)

/** Decodes the writer's State reply; null if it is not one. */
export const decodeStateReply = (bytes: Uint8Array): StateReply | null => {
  try {
    const v = decodeJson(bytes) as Partial<{ ok: boolean; streamSeq: number; docSeq: number; message: string }> | null
    if (!v || typeof v !== 'object') return null
    if (v.ok === true && typeof v.streamSeq === 'number' && typeof v.docSeq === 'number')
      return { ok: true, streamSeq: v.streamSeq, docSeq: v.docSeq }
    if (v.ok === false && typeof v.message === 'string') return { ok: false, message: v.message }
    return null
  } catch {
    return null
  }
}

/**
 * The subject the writer publishes its bans on (core NATS, not stored), for all boards: edges
 * show them in their Session frames (the writer refuses the banned's placements either way).
 */
export const BANS_SUBJECT = 'tessera.bans'

/** One ban as the writer holds it (relay/moderation.ts Ban). */
export type BanEntry = { kind: 'user' | 'ip'; target: string; reason: string; at: number }

/** Encodes the writer's whole list of bans (JSON in a varstring, as the place request). */
export const encodeBans = (bans: readonly BanEntry[]): Uint8Array => encodeJson({ bans })

/** Decodes a list of bans; null if it is not one (or an entry is not a ban). */
export const decodeBans = (bytes: Uint8Array): BanEntry[] | null => {
  try {
    const v = decodeJson(bytes) as { bans?: unknown } | null
    if (!v || !Array.isArray(v.bans)) return null
    const out: BanEntry[] = []
    for (const b of v.bans as Partial<BanEntry>[]) {
      if (
        !b ||
        (b.kind !== 'user' && b.kind !== 'ip') ||
        typeof b.target !== 'string' ||
        typeof b.reason !== 'string' ||
        typeof b.at !== 'number'
      )
        return null
      out.push({ kind: b.kind, target: b.target, reason: b.reason, at: b.at })
    }
    return out
  } catch {
    return null
  }
}
