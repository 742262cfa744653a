/**
 * Stream messages larger than the NATS server allows (its `max_payload`, 1 MiB by default), cut
 * into Part messages and put together again (docs/PROTOCOL.md "Relay to relay"). A writer's
 * State message holds its whole document, which outgrows any fixed payload on a large board; a
 * large admin fill's commit may too; the writer's bans list (relay/ban-exchange.ts, core NATS)
 * uses the same parts. Pure: split and reassemble, no I/O.
 *
 * A part set is the encoded message's bytes in `count` consecutive stream messages numbered
 * 0..count-1, identified by `set` (the writer start's tag and the number of the set's first
 * message). A follower applies the whole message once its last part arrives; parts of an
 * incomplete set (a writer that stopped in the middle of one) are dropped when another message
 * follows them, and a set still incomplete at the stream's end waits.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

/** Wire kind of a Part message (the second varuint of every stream message; Commit 0 and State 1 are in stream-messages.ts). */
export const PART_KIND = 2

/**
 * Bytes of a message's payload limit left for NATS headers (Tessera-Seq, Nats-Msg-Id: about
 * 100 bytes) and a part's own envelope (under 100 bytes): NATS counts headers in max_payload.
 */
export const PART_HEADROOM_BYTES = 4096

/** One part of a message too large for one stream message. */
export type StreamPart = { set: string; index: number; count: number; bytes: Uint8Array }

/** Whether a stream message's bytes are a Part message (version 1, kind PART_KIND). */
export const isPart = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 1 && bytes[1] === PART_KIND

/** Encodes a Part message: [version 1, kind 2, index, count, set (lib0 string), bytes (varuint length + bytes)]. */
export const encodePart = (p: StreamPart): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, 1)
  encoding.writeVarUint(enc, PART_KIND)
  encoding.writeVarUint(enc, p.index)
  encoding.writeVarUint(enc, p.count)
  encoding.writeVarString(enc, p.set)
  encoding.writeVarUint8Array(enc, p.bytes)
  return encoding.toUint8Array(enc)
}

/** Decodes a Part message; throws on bytes that are not one. */
export const decodePart = (bytes: Uint8Array): StreamPart => {
  const dec = decoding.createDecoder(bytes)
  if (decoding.readVarUint(dec) !== 1 || decoding.readVarUint(dec) !== PART_KIND) throw new Error('not a part message')
  const index = decoding.readVarUint(dec)
  const count = decoding.readVarUint(dec)
  const set = decoding.readVarString(dec)
  return { set, index, count, bytes: decoding.readVarUint8Array(dec) }
}

/**
 * The Part messages of `message` (an encoded stream message) in pieces of at most `pieceBytes`,
 * or null if it fits in one piece (then it goes as it is).
 */
export const splitMessage = (message: Uint8Array, pieceBytes: number, set: string): Uint8Array[] | null => {
  if (pieceBytes < 1) throw new Error(`splitMessage: piece size ${pieceBytes} must be positive`)
  if (message.length <= pieceBytes) return null
  const count = Math.ceil(message.length / pieceBytes)
  const parts: Uint8Array[] = []
  for (let index = 0; index < count; index++)
    parts.push(encodePart({ set, index, count, bytes: message.subarray(index * pieceBytes, (index + 1) * pieceBytes) }))
  return parts
}

export type PartAssembler = {
  /**
   * Takes the next part in stream order: the whole message's bytes once this is its last part,
   * else null. A part that does not continue the set in progress drops that set (`dropped` tells
   * how many parts) and starts anew if it is a first part; `orphan`: this part is not a first
   * part and continues no set (the head of its set was never seen here), so it is dropped too.
   */
  add: (part: StreamPart) => { whole: Uint8Array | null; dropped: number; orphan: boolean }
  /** A message that is not a part arrived: an incomplete set before it is dropped; returns its part count. */
  interrupt: () => number
}

export const createPartAssembler = (): PartAssembler => {
  let set: string | null = null
  let count = 0
  let pieces: Uint8Array[] = []
  const drop = () => {
    const n = pieces.length
    set = null
    count = 0
    pieces = []
    return n
  }
  return {
    add: (part) => {
      let dropped = 0
      if (set !== part.set || part.count !== count || part.index !== pieces.length) dropped = drop()
      if (set === null) {
        if (part.index !== 0) return { whole: null, dropped: dropped + 1, orphan: true }
        set = part.set
        count = part.count
      }
      pieces.push(part.bytes)
      if (pieces.length < count) return { whole: null, dropped, orphan: false }
      const whole = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0))
      let at = 0
      for (const p of pieces) {
        whole.set(p, at)
        at += p.length
      }
      drop()
      return { whole, dropped, orphan: false }
    },
    interrupt: drop,
  }
}
