/**
 * The encoding of history records (pure: no I/O). A block is the value that holds a run of
 * consecutive records: the record count (varuint), the byte offset of records 0, BLOCK_STRIDE,
 * 2 x BLOCK_STRIDE, ... from the start of the records (u32 LE each), then every record: x, y,
 * color, placedAt (varuints), user (string), kind (varuint; plus KIND_HAS_ID if the placement id
 * follows), the placement id (string, only with KIND_HAS_ID), ref and the previous seq on its
 * tile (varuints). Seqs are not stored: the store keys a block by its last seq.
 *
 * The offsets let a reader take one record (a step of a tile's chain) by parsing at most
 * BLOCK_STRIDE records instead of the whole block, for 4 bytes per BLOCK_STRIDE records.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { PlacementRecord, RecordKind } from '../shared/placement-record.ts'

/** A block stores the byte offset of every BLOCK_STRIDE-th record. */
export const BLOCK_STRIDE = 32

/**
 * Added to a record's kind when its placement id (the client's, for recognising a retry) follows
 * the kind. Records written before ids existed have kinds 0..2 and no id: they read unchanged.
 * Kinds stay below it (a varuint below 128 is one byte either way). A relay older than ids
 * cannot read records with ids (a downgrade is not supported).
 */
export const KIND_HAS_ID = 16

/** A record's value: its fields, then the previous seq on its tile (0: none). */
export const writeRecord = (enc: encoding.Encoder, r: PlacementRecord, prevSeq: number): void => {
  encoding.writeVarUint(enc, r.x)
  encoding.writeVarUint(enc, r.y)
  encoding.writeVarUint(enc, r.color)
  encoding.writeVarUint(enc, r.placedAt)
  encoding.writeVarString(enc, r.user)
  if (r.id === undefined) {
    encoding.writeVarUint(enc, r.kind)
  } else {
    encoding.writeVarUint(enc, r.kind + KIND_HAS_ID)
    encoding.writeVarString(enc, r.id)
  }
  encoding.writeVarUint(enc, r.ref)
  encoding.writeVarUint(enc, prevSeq)
}

/** A record's fields up to its previous seq (which the caller reads: legacy values may lack it). */
const readFields = (dec: decoding.Decoder, seq: number): PlacementRecord => {
  const x = decoding.readVarUint(dec)
  const y = decoding.readVarUint(dec)
  const color = decoding.readVarUint(dec)
  const placedAt = decoding.readVarUint(dec)
  const user = decoding.readVarString(dec)
  const kindField = decoding.readVarUint(dec)
  if (kindField < KIND_HAS_ID) {
    const ref = decoding.readVarUint(dec)
    return { seq, x, y, color, user, placedAt, kind: kindField as RecordKind, ref }
  }
  const id = decoding.readVarString(dec)
  const ref = decoding.readVarUint(dec)
  return { seq, x, y, color, user, placedAt, kind: (kindField - KIND_HAS_ID) as RecordKind, ref, id }
}

/**
 * A block's value: the record count (varuint), the offsets of records 0, BLOCK_STRIDE,
 * 2 x BLOCK_STRIDE, ... from the start of the records (u32 LE each), then every record with
 * the previous seq on its tile.
 */
export const encodeBlock = (records: readonly PlacementRecord[], prevSeqs: readonly number[]): Uint8Array => {
  const body = encoding.createEncoder()
  const offsets: number[] = []
  // An indexed loop: this runs for every placement of every commit.
  for (let i = 0; i < records.length; i++) {
    if (i % BLOCK_STRIDE === 0) offsets.push(encoding.length(body))
    writeRecord(body, records[i] as PlacementRecord, prevSeqs[i] as number)
  }
  const head = encoding.createEncoder()
  encoding.writeVarUint(head, records.length)
  for (const offset of offsets) encoding.writeUint32(head, offset)
  const h = encoding.toUint8Array(head)
  const b = encoding.toUint8Array(body)
  const out = new Uint8Array(h.length + b.length)
  out.set(h)
  out.set(b, h.length)
  return out
}

/** A block as stored, located: records `first` .. `first + count - 1`. */
export type Block = { first: number; count: number; bytes: Uint8Array; index: number; body: number }

/** A block from its key's seq (its last record's) and its value. */
export const openBlock = (last: number, bytes: Uint8Array): Block => {
  const dec = decoding.createDecoder(bytes)
  const count = decoding.readVarUint(dec)
  const index = dec.pos
  return { first: last - count + 1, count, bytes, index, body: index + 4 * Math.ceil(count / BLOCK_STRIDE) }
}

/** Moves past one record without building it. */
const skipRecord = (dec: decoding.Decoder): void => {
  for (let k = 0; k < 4; k++) decoding.readVarUint(dec)
  // The user, a length-prefixed string (the length read first: `dec.pos += read()` would add to the old pos).
  const length = decoding.readVarUint(dec)
  dec.pos += length
  if (decoding.readVarUint(dec) >= KIND_HAS_ID) {
    const idLength = decoding.readVarUint(dec)
    dec.pos += idLength
  }
  for (let k = 0; k < 2; k++) decoding.readVarUint(dec)
}

/** Record `i` of a block with its previous seq on its tile: parses at most BLOCK_STRIDE records. */
export const recordOf = (block: Block, i: number): { record: PlacementRecord; prevSeq: number } => {
  const view = new DataView(block.bytes.buffer, block.bytes.byteOffset, block.bytes.byteLength)
  const at = view.getUint32(block.index + 4 * Math.floor(i / BLOCK_STRIDE), true)
  const dec = decoding.createDecoder(block.bytes.subarray(block.body + at))
  for (let k = i % BLOCK_STRIDE; k > 0; k--) skipRecord(dec)
  const record = readFields(dec, block.first + i)
  return { record, prevSeq: decoding.readVarUint(dec) }
}

/** Every record of a block, in seq order. */
export const recordsOf = (block: Block): PlacementRecord[] => {
  const dec = decoding.createDecoder(block.bytes.subarray(block.body))
  const out: PlacementRecord[] = new Array(block.count)
  for (let i = 0; i < block.count; i++) {
    out[i] = readFields(dec, block.first + i)
    decoding.readVarUint(dec)
  }
  return out
}

/** A record of the one-key-a-record layout (Prefix.LegacyRecord), which an open converts. */
export const decodeLegacy = (seq: number, bytes: Uint8Array): { record: PlacementRecord; prevSeq: number } => {
  const dec = decoding.createDecoder(bytes)
  const record = readFields(dec, seq)
  return { record, prevSeq: decoding.hasContent(dec) ? decoding.readVarUint(dec) : 0 }
}
