/**
 * Where a stream-following snapshotter resumes (snapshotter/follow-stream.ts): its whole
 * document and the stream position it stands at, kept beside the snapshots as
 * DATA_DIR/snapshots/<board>/stream-doc.bin (never served: the relay serves only <version>.png,
 * <version>.json and latest.json). Written atomically before each snapshot's PNG and sidecar,
 * from the same capture: it stands where the latest snapshot stands (or, after a snapshot write
 * that failed half way, after it; never before).
 *
 *   [version 1, streamSeq, docSeq, update (varuint length + bytes)]   lib0 varuints
 *
 * `streamSeq`: the stream sequence of the last message applied (the follower asks the stream
 * for streamSeq + 1 next); `docSeq`: the history seq the document holds (the sidecar's seq);
 * `update`: Y.encodeStateAsUpdate of the document.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { writeFileAtomic } from './store.ts'

/** File name in the board's snapshot folder. */
export const STREAM_DOC_FILE = 'stream-doc.bin'

/** A follower's document at a stream position. */
export type StreamDoc = { streamSeq: number; docSeq: number; update: Uint8Array }

export const encodeStreamDoc = (d: StreamDoc): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, 1)
  encoding.writeVarUint(enc, d.streamSeq)
  encoding.writeVarUint(enc, d.docSeq)
  encoding.writeVarUint8Array(enc, d.update)
  return encoding.toUint8Array(enc)
}

/** Decodes the file's bytes; null if they are not one (then the follower starts from a State). */
export const decodeStreamDoc = (bytes: Uint8Array): StreamDoc | null => {
  try {
    const dec = decoding.createDecoder(bytes)
    if (decoding.readVarUint(dec) !== 1) return null
    const streamSeq = decoding.readVarUint(dec)
    const docSeq = decoding.readVarUint(dec)
    const update = decoding.readVarUint8Array(dec)
    return dec.pos === bytes.length ? { streamSeq, docSeq, update } : null
  } catch {
    return null
  }
}

/** The folder's stream document, or null when there is none (or it cannot be read). */
export const readStreamDoc = async (dir: string): Promise<StreamDoc | null> => {
  const bytes = await readFile(join(dir, STREAM_DOC_FILE)).catch(() => null)
  return bytes ? decodeStreamDoc(new Uint8Array(bytes)) : null
}

export const writeStreamDoc = (dir: string, d: StreamDoc): Promise<void> => writeFileAtomic(dir, STREAM_DOC_FILE, encodeStreamDoc(d))
