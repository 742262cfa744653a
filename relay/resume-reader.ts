/**
 * Answers live=tiles resumes (`since=`) from one shared window of tile values read from history,
 * so that many sockets resuming from nearby seqs cost one history read, not one each.
 *
 * Why: a resume reads up to MAX_RESUME_TILES records from LevelDB and encodes them; asked by 30
 * sockets at once it cost 8 s of relay work and +137 MB (issue 11). Here reads are single-flight
 * (one at a time per board; a request arriving meanwhile waits and then reuses what it read), the
 * window only ever grows at its ends (records are immutable: a rollback adds restore records, it
 * never rewrites old ones), and the last few encoded answers are kept for identical requests.
 *
 * Invariant: `values[i]` is the tile value of history seq `from + 1 + i`.
 */
import { encodeTiles, MAX_RESUME_TILES } from '../shared/protocol.ts'

export type ResumeReader = {
  /** A Tiles frame with every tile write in (since, upTo]; the caller checks the range is answerable. */
  read: (since: number, upTo: number) => Promise<Uint8Array>
}

/** `readAfter(seq)` yields the tile values of seqs seq+1, seq+2, ... in order (one per seq). */
export const createResumeReader = (readAfter: (afterSeq: number) => AsyncIterable<number>): ResumeReader => {
  let from = 0
  let values: number[] = []
  let reading: Promise<void> | null = null
  const encoded = new Map<string, Uint8Array>()
  const MAX_ENCODED = 4

  /** Appends values of (from + values.length, upTo] (end >= start). */
  const readInto = async (after: number, upTo: number, into: number[]) => {
    if (after >= upTo) return
    for await (const v of readAfter(after)) {
      into.push(v)
      if (after + into.length >= upTo) break
    }
  }

  const ensure = async (since: number, upTo: number) => {
    while (reading) await reading
    const end = from + values.length
    if (values.length > 0 && since >= from && upTo <= end) return
    const run = (async () => {
      if (values.length === 0 || since > end || upTo < from) {
        // Disjoint from the window (or no window yet): start a new one.
        const next: number[] = []
        await readInto(since, upTo, next)
        from = since
        values = next
        return
      }
      if (since < from) {
        const front: number[] = []
        await readInto(since, from, front)
        values = front.concat(values)
        from = since
      }
      if (upTo > from + values.length) {
        const back: number[] = []
        await readInto(from + values.length, upTo, back)
        for (const v of back) values.push(v)
      }
      // Keep the window within what a resume may ask for.
      const floor = upTo - MAX_RESUME_TILES
      if (from < floor) {
        values = values.slice(floor - from)
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
      const key = `${since}:${upTo}`
      const hit = encoded.get(key)
      if (hit) return hit
      await ensure(since, upTo)
      const frame = encodeTiles(since + 1, values.slice(since - from, upTo - from))
      encoded.set(key, frame)
      while (encoded.size > MAX_ENCODED) encoded.delete(encoded.keys().next().value as string)
      return frame
    },
  }
}
