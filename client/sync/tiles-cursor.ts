/**
 * Following a live=tiles socket's Tiles frames by history seq (shared/protocol.ts). Pure: the
 * connection keeps the cursor and acts on the step; this file only decides.
 *
 * The cursor is the last history seq the bitmap holds. It is unknown (null) from each connect
 * until the cursor frame (a Tiles frame without values) that follows a sync answer: frames
 * before it are ignored, because the answer was read from the relay's document after they were
 * committed and so holds them. From then on frames must continue the cursor: values it already
 * holds are skipped, and a frame starting past cursor + 1 means seqs went missing (the client
 * cannot know which tiles they wrote), so the only safe answer is a fresh sync.
 */

export type TilesStep =
  /** A cursor frame: the sync answer just received holds every seq before its firstSeq. */
  | { kind: 'cursor'; cursor: number }
  /** Nothing to paint: no cursor yet (the sync answer holds these), or every value is held already. */
  | { kind: 'skip' }
  /** Seqs between the cursor and this frame never arrived: drop the frame and sync again. */
  | { kind: 'gap' }
  /** Paint values[from], values[from + 1], ... in order; the bitmap then holds up to `cursor`. */
  | { kind: 'apply'; from: number; cursor: number }

/** What to do with a Tiles frame of `count` values starting at `firstSeq`, holding up to `cursor`. */
export const followTiles = (cursor: number | null, firstSeq: number, count: number): TilesStep => {
  // The relay sends a frame without values only after a sync answer: take its word, even over a
  // cursor already held (that answer was read after every frame before it, so it is the newer).
  if (count === 0) return { kind: 'cursor', cursor: firstSeq - 1 }
  if (cursor === null) return { kind: 'skip' }
  if (firstSeq > cursor + 1) return { kind: 'gap' }
  const last = firstSeq + count - 1
  if (last <= cursor) return { kind: 'skip' }
  return { kind: 'apply', from: cursor + 1 - firstSeq, cursor: last }
}
