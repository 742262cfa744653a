/**
 * Which history seq a state vector of the board's document stands at, for the states the relay
 * passed through since it opened: after each commit (and at open), the document's version (the
 * sum of its state vector's clocks), the seq of the last tile write it holds, and the clock of
 * the client id the relay wrote with.
 *
 * Why: a snapshot names the document state it was painted from by its state vector. A page that
 * starts from the snapshot can catch up from the snapshot's seq with 4-byte Tiles values
 * (since=<seq>) instead of a Yjs diff from its state vector, which costs about ten times the
 * bytes (docs/CLIENT.md). The relay is the document's only writer and every reader (the
 * snapshotter too) receives whole commits, so every state vector a reader holds is one of these.
 *
 * Invariants: versions only grow (a commit adds structs; deletions add none), so entries are in
 * version order and a lookup is a binary search. A state vector matches an entry when its version
 * equals the entry's AND it holds the entry's writer clock: a vector from another document (a
 * reset data directory) or a forged one matches nothing, and the page falls back to the state
 * vector. Memory: 24 bytes an entry, `capacity` entries; the oldest half is dropped when full,
 * so a snapshot older than that many commits is answered by its state vector.
 */

export type SeqPositions = {
  /** Records the document's state after a commit (or at open). Versions must not decrease. */
  record: (version: number, seq: number, writer: number, writerClock: number) => void
  /** The seq a decoded state vector (client id -> clock) stands at, or null when not known. */
  seqOf: (stateVector: ReadonlyMap<number, number>) => number | null
  /** Entries kept (for tests and the memory note above). */
  size: () => number
}

export const createSeqPositions = (capacity = 1 << 18): SeqPositions => {
  let versions = new Float64Array(Math.min(capacity, 1024))
  let seqs = new Float64Array(versions.length)
  let writers = new Uint32Array(versions.length)
  let clocks = new Float64Array(versions.length)
  let n = 0

  const grow = () => {
    if (versions.length < capacity) {
      const len = Math.min(capacity, versions.length * 2)
      const copy = <T extends Float64Array | Uint32Array>(a: T, b: T) => {
        b.set(a)
        return b
      }
      versions = copy(versions, new Float64Array(len))
      seqs = copy(seqs, new Float64Array(len))
      writers = copy(writers, new Uint32Array(len))
      clocks = copy(clocks, new Float64Array(len))
      return
    }
    // Full: keep the newer half.
    const half = n >>> 1
    for (const a of [versions, seqs, writers, clocks]) a.copyWithin(0, half, n)
    n -= half
  }

  return {
    record: (version, seq, writer, writerClock) => {
      if (n > 0) {
        const last = versions[n - 1] as number
        if (version < last) throw new Error(`document version went back from ${last} to ${version}`)
        // The same state again (a commit that wrote nothing): the later seq is the same or larger.
        if (version === last) {
          seqs[n - 1] = seq
          writers[n - 1] = writer
          clocks[n - 1] = writerClock
          return
        }
      }
      if (n === versions.length) grow()
      versions[n] = version
      seqs[n] = seq
      writers[n] = writer
      clocks[n] = writerClock
      n += 1
    },
    seqOf: (stateVector) => {
      let version = 0
      for (const clock of stateVector.values()) version += clock
      let lo = 0
      let hi = n - 1
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1
        const v = versions[mid] as number
        if (v === version) return stateVector.get(writers[mid] as number) === clocks[mid] ? (seqs[mid] as number) : null
        if (v < version) lo = mid + 1
        else hi = mid - 1
      }
      return null
    },
    size: () => n,
  }
}
