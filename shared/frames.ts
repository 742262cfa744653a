/**
 * The codecs of Tessera's own frames (message types from 100, shared/protocol.ts): encode and
 * read, each frame's layout documented in docs/PROTOCOL.md.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { MessageType, type PlaceError, type PlaceResult, TILE_VALUE_BYTES } from './protocol.ts'

/**
 * A decoded Place frame (after its message type). `id`: the client-chosen placement id, absent
 * from frames of clients that do not send one.
 */
export type PlaceFrame = { requestId: number; x: number; y: number; color: number; id?: string }

/**
 * Encodes a Place frame: [100, requestId, x, y, color] and, if the placement has an id, the id
 * as a trailing string. Relays that predate ids ignore the trailing bytes.
 */
export const encodePlace = (f: PlaceFrame): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Place)
  encoding.writeVarUint(enc, f.requestId)
  encoding.writeVarUint(enc, f.x)
  encoding.writeVarUint(enc, f.y)
  encoding.writeVarUint(enc, f.color)
  if (f.id !== undefined) encoding.writeVarString(enc, f.id)
  return encoding.toUint8Array(enc)
}

/**
 * Reads the body of a Place frame; the id only if bytes remain (frames of clients without ids
 * end after the colour). Throws on truncated or malformed input. The id's format is checked by
 * the relay (isPlacementId), not here.
 */
export const readPlace = (dec: decoding.Decoder): PlaceFrame => {
  const frame: PlaceFrame = {
    requestId: decoding.readVarUint(dec),
    x: decoding.readVarUint(dec),
    y: decoding.readVarUint(dec),
    color: decoding.readVarUint(dec),
  }
  if (decoding.hasContent(dec)) {
    // lib0 reads a string past its frame's end without throwing: check the length here.
    const start = dec.pos
    const length = decoding.readVarUint(dec)
    if (length > dec.arr.length - dec.pos) throw new Error('Place frame: truncated id')
    dec.pos = start
    frame.id = decoding.readVarString(dec)
  }
  return frame
}

/**
 * Encodes a PlaceResult frame:
 * [101, requestId, 0, placedAt, nextPlaceAt] on success;
 * [101, requestId, 1, error, retryAfterMs, message] on rejection.
 */
export const encodePlaceResult = (requestId: number, r: PlaceResult): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.PlaceResult)
  encoding.writeVarUint(enc, requestId)
  if (r.ok) {
    encoding.writeVarUint(enc, 0)
    encoding.writeVarUint(enc, r.placedAt)
    encoding.writeVarUint(enc, r.nextPlaceAt)
  } else {
    encoding.writeVarUint(enc, 1)
    encoding.writeVarString(enc, r.error)
    encoding.writeVarUint(enc, r.retryAfterMs ?? 0)
    encoding.writeVarString(enc, r.message ?? '')
  }
  return encoding.toUint8Array(enc)
}

/** Reads the body of a PlaceResult frame. */
export const readPlaceResult = (dec: decoding.Decoder): { requestId: number; result: PlaceResult } => {
  const requestId = decoding.readVarUint(dec)
  if (decoding.readVarUint(dec) === 0) {
    return { requestId, result: { ok: true, placedAt: decoding.readVarUint(dec), nextPlaceAt: decoding.readVarUint(dec) } }
  }
  const error = decoding.readVarString(dec) as PlaceError
  const retryAfterMs = decoding.readVarUint(dec)
  const message = decoding.readVarString(dec)
  return { requestId, result: retryAfterMs > 0 ? { ok: false, error, retryAfterMs, message } : { ok: false, error, message } }
}

/** Encodes a Presence frame. */
export const encodePresence = (online: number): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Presence)
  encoding.writeVarUint(enc, online)
  return encoding.toUint8Array(enc)
}

/** Encodes an Error frame: a machine-readable code and a human-readable message. */
export const encodeError = (code: string, message: string): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Error)
  encoding.writeVarString(enc, code)
  encoding.writeVarString(enc, message)
  return encoding.toUint8Array(enc)
}

/** Reads the body of an Error frame. */
export const readError = (dec: decoding.Decoder): { code: string; message: string } => ({
  code: decoding.readVarString(dec),
  message: decoding.readVarString(dec),
})

/** Encodes a Session frame: the socket's identity ('' if anonymous) and its next allowed placement time. */
export const encodeSession = (user: string, nextPlaceAt: number, banned: string | null = null): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Session)
  encoding.writeVarString(enc, user)
  encoding.writeVarUint(enc, nextPlaceAt)
  // Appended later: a reader of the first layout stops before it.
  if (banned !== null) {
    encoding.writeVarUint(enc, 1)
    encoding.writeVarString(enc, banned)
  }
  return encoding.toUint8Array(enc)
}

/**
 * Reads the body of a Session frame. `banned`: the ban's reason ('' if none was given) when this
 * identity or its address is banned, else null (also for a frame without the field).
 */
export const readSession = (dec: decoding.Decoder): { user: string; nextPlaceAt: number; banned: string | null } => {
  const user = decoding.readVarString(dec)
  const nextPlaceAt = decoding.readVarUint(dec)
  const banned = decoding.hasContent(dec) && decoding.readVarUint(dec) === 1 ? decoding.readVarString(dec) : null
  return { user, nextPlaceAt, banned }
}

/**
 * The start of a Tiles frame of `count` values: followed by count x 4 bytes (u32 little-endian)
 * it is the whole frame. A sender holding the values already encoded sends the two parts as one
 * message without copying them together.
 */
export const encodeTilesHead = (firstSeq: number, count: number): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Tiles)
  encoding.writeVarUint(enc, firstSeq)
  encoding.writeVarUint(enc, count)
  return encoding.toUint8Array(enc)
}

/**
 * A Tiles frame: `values` are tile values (shared/tile-codec.ts encodeTileValue: they name their
 * own x, y and colour) of history seqs firstSeq, firstSeq + 1, ... in order; a later value for
 * the same tile wins. A frame with no values is a cursor: "you hold everything before firstSeq".
 */
export const encodeTiles = (firstSeq: number, values: ArrayLike<number>): Uint8Array => {
  const head = encodeTilesHead(firstSeq, values.length)
  const out = new Uint8Array(head.length + values.length * TILE_VALUE_BYTES)
  out.set(head)
  const view = new DataView(out.buffer, head.length)
  for (let i = 0; i < values.length; i++) view.setUint32(i * TILE_VALUE_BYTES, values[i] as number, true)
  return out
}

/** Reads the body of a Tiles frame. Throws on a truncated frame. */
export const readTiles = (dec: decoding.Decoder): { firstSeq: number; values: Uint32Array } => {
  const firstSeq = decoding.readVarUint(dec)
  const count = decoding.readVarUint(dec)
  // lib0 reads past the frame into the rest of its buffer rather than throwing: check here.
  if (count * TILE_VALUE_BYTES > dec.arr.length - dec.pos) throw new Error('Tiles frame: truncated')
  const bytes = decoding.readUint8Array(dec, count * TILE_VALUE_BYTES)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const values = new Uint32Array(count)
  for (let i = 0; i < count; i++) values[i] = view.getUint32(i * TILE_VALUE_BYTES, true)
  return { firstSeq, values }
}

/** Encodes a Config frame: the board's document config (shared/doc-schema.ts DocConfig) as JSON. */
export const encodeConfig = (config: unknown): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Config)
  encoding.writeVarString(enc, JSON.stringify(config))
  return encoding.toUint8Array(enc)
}

/** Reads the body of a Config frame (the JSON value; the caller checks its shape). */
export const readConfig = (dec: decoding.Decoder): unknown => JSON.parse(decoding.readVarString(dec))
