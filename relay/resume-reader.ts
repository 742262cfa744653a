/**
 * Answers live=tiles resumes (`since=`) from one shared window of tile values read from history,
 * so that many sockets resuming from nearby seqs cost one history read and one copy of the bytes,
 * not one each.
 *
 * Why: a resume reads up to MAX_RESUME_TILES records from LevelDB and encodes them (1 MB); asked
 * by 30 sockets at once it cost 8 s of relay work and +137 MB (issue 11). Here reads are
 * single-flight (one at a time per board; a request arriving meanwhile waits and then reuses what
 * was read), the window only ever grows at its ends (records are immutable: a rollback adds
 * restore records, it never rewrites old ones), and the window is kept encoded: an answer is a
 * small Tiles head plus a view into the window's bytes, sent as two fragments of one message, so
 * sockets that do not read hold references to the same bytes, not copies.
 *
 * Invariants: `bytes[4i .. 4i + 4)` is the tile value (u32 little-endian, as in a Tiles frame) of
 * history seq `from + 1 + i`, for i < count. Bytes handed out are never written again: appends go
 * past `count`, and a prepend or trim makes a new buffer.
 */

import { encodeTilesHead } from '../shared/frames.ts'
import { MAX_RESUME_TILES, TILE_VALUE_BYTES } from '../shared/protocol.ts'

export type ResumeReader = {
  /**
   * The Tiles frame with every tile write in (since, upTo], as the fragments of one message (a
   * head, then the values); the caller checks the range is answerable.
   */
  read: (since: number, upTo: number) => Promise<Uint8Array[]>
}

/** `readAfter(seq)` yields the tile values of seqs seq+1, seq+2, ... in order (one per seq). */
export const createResumeReader = (readAfter: (afterSeq: number) => AsyncIterable<number>): ResumeReader => {
  let from = 0
  let count = 0
  let bytes = new Uint8Array(0)
  let reading: Promise<void> | null = null

  /** Reads the values of (after, upTo] into a new buffer. */
  const readRange = async (after: number, upTo: number): Promise<Uint8Array> => {
    const out = new Uint8Array(Math.max(0, upTo - after) * TILE_VALUE_BYTES)
    const view = new DataView(out.buffer)
    let n = 0
    if (after < upTo) {
      for await (const v of readAfter(after)) {
        view.setUint32(n * TILE_VALUE_BYTES, v, true)
        n += 1
        if (after + n >= upTo) break
      }
    }
    return out.subarray(0, n * TILE_VALUE_BYTES)
  }

  const append = (more: Uint8Array) => {
    const need = count * TILE_VALUE_BYTES + more.length
    if (need > bytes.length) {
      const grown = new Uint8Array(Math.max(need, bytes.length * 2))
      grown.set(bytes.subarray(0, count * TILE_VALUE_BYTES))
      bytes = grown
    }
    bytes.set(more, count * TILE_VALUE_BYTES)
    count += more.length / TILE_VALUE_BYTES
  }

  const ensure = async (since: number, upTo: number) => {
    while (reading) await reading
    const end = from + count
    if (count > 0 && since >= from && upTo <= end) return
    const run = (async () => {
      if (count === 0 || since > end || upTo < from) {
        // Disjoint from the window (or no window yet): start a new one.
        const fresh = await readRange(since, upTo)
        from = since
        count = 0
        bytes = new Uint8Array(0)
        append(fresh)
        return
      }
      if (since < from) {
        const front = await readRange(since, from)
        const joined = new Uint8Array(front.length + count * TILE_VALUE_BYTES)
        joined.set(front)
        joined.set(bytes.subarray(0, count * TILE_VALUE_BYTES), front.length)
        bytes = joined
        count = joined.length / TILE_VALUE_BYTES
        from = since
      }
      if (upTo > from + count) append(await readRange(from + count, upTo))
      // Keep the window within what a resume may ask for.
      const floor = upTo - MAX_RESUME_TILES
      if (from < floor) {
        const drop = floor - from
        bytes = bytes.slice(drop * TILE_VALUE_BYTES, count * TILE_VALUE_BYTES)
        count -= drop
        from = floor
      }
    })()
    reading = run
    try {
      await run
    } finally {
      reading = null
    }
  }

  return {
    read: async (since, upTo) => {
      await ensure(since, upTo)
      const last = Math.min(upTo, from + count)
      const body = bytes.subarray((since - from) * TILE_VALUE_BYTES, (last - from) * TILE_VALUE_BYTES)
      const head = encodeTilesHead(since + 1, last - since)
      return body.length > 0 ? [head, body] : [head]
    },
  }
}
