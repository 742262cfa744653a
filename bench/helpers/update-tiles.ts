/**
 * Reads the tile values (shared/tile-codec.ts) out of a Yjs update, for benchmarks that need
 * to know which placements a broadcast frame carried. Uses Y.decodeUpdate (it is only run on
 * one reference socket's frames, not on every viewer's).
 */
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { isTileValue } from '../../shared/tile-codec.ts'

/** Tile values written by the structs of an update. */
export const tileValuesOf = (update: Uint8Array): number[] => {
  const out: number[] = []
  for (const s of Y.decodeUpdate(update).structs) {
    if (s instanceof Y.Item && s.content instanceof Y.ContentAny) {
      for (const v of s.content.arr) if (isTileValue(v)) out.push(v)
    }
  }
  return out
}

/** The update inside a y-protocols frame [0 sync, 2 update, varUint8Array], or null for any other frame. */
export const updateOfFrame = (payload: Uint8Array): Uint8Array | null => {
  if (payload[0] !== 0 || payload[1] !== 2) return null
  const dec = decoding.createDecoder(payload)
  dec.pos = 2
  return decoding.readVarUint8Array(dec)
}
