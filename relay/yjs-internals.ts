/**
 * Every place the relay reaches into Yjs's internals (the struct store, the client id) or reads
 * Yjs encodings for its own decisions, in one module: a Yjs upgrade is checked here.
 */
import * as Y from 'yjs'

/**
 * Structs of the relay's current client ID after which it writes under a fresh one. An
 * overwritten tile's item is garbage-collected and merged with its neighbours, and Yjs merges
 * by splicing the client's struct array: O(array length) per overwrite. A board's live items
 * alone are hundreds of thousands of structs, which made each overwrite cost tens of
 * microseconds and ingest fall as the board filled (measured: 21k -> 7k placements/s over
 * 240k placements). Bounding the array bounds the splice. Each rotation adds one entry to the
 * state vector (about 8 bytes, and about 0.3 us per transaction, measured in the project's research): one entry per
 * ~4k placements, ~4,000 entries (~32 KB) after r/place 2017's 16.5 M. Measured ingest (one run
 * each, 400k placements, 2026-12-03): 16,384 -> 48.7k/s (tryToMergeWithLefts 9% of the relay's
 * samples), 8,192 -> 55.5k, 4,096 -> 58.3k, 2,048 -> 60.7k/s.
 */
export const MAX_STRUCTS_PER_CLIENT = 4_096

/**
 * Gives the document a fresh client ID when the current one's struct array is full. Also hands
 * the arrays of earlier IDs that merging has shrunk to a copy of their current length: a
 * JavaScript array keeps the capacity it once had (16,384 slots, 128 KB) after splices, so
 * without this each retired ID kept ~128 KB and the heap grew by ~8 MB per million placements
 * (measured over 5 M). Swapping the array object between transactions is safe: Yjs looks the
 * array up in `store.clients` each time it needs it.
 */
export const rotateClientId = (doc: Y.Doc, trimmedAt: Map<number, number>) => {
  if ((doc.store.clients.get(doc.clientID)?.length ?? 0) < MAX_STRUCTS_PER_CLIENT) return
  let next: number
  do next = crypto.getRandomValues(new Uint32Array(1))[0] as number
  while (doc.store.clients.has(next))
  doc.clientID = next
  for (const [client, structs] of doc.store.clients) {
    const peak = trimmedAt.get(client) ?? MAX_STRUCTS_PER_CLIENT
    if (structs.length > peak / 2) continue
    doc.store.clients.set(client, structs.slice())
    trimmedAt.set(client, structs.length)
  }
}

/**
 * The state vector that asks `doc` for the same answer as `sv`, in one spelling: clients the
 * document has never seen and clocks of 0 are dropped, and clocks beyond the document's are
 * lowered to it (an answer skips such a client either way), in Yjs's sorted encoding. Many
 * spellings of one question (a random client id added, say) then share one cached answer.
 * Throws if `sv` cannot be decoded.
 */
export const canonicalStateVector = (doc: Y.Doc, sv: Uint8Array): Uint8Array => {
  const asked = Y.decodeStateVector(sv)
  const canonical = new Map<number, number>()
  for (const [client, clock] of asked) {
    const state = Y.getState(doc.store, client)
    if (clock > 0 && state > 0) canonical.set(client, Math.min(clock, state))
  }
  return Y.encodeStateVector(canonical)
}

/**
 * Whether `update` holds anything the document does not already have: a struct beyond the
 * document's state for its client, or a deletion of an item the document holds undeleted.
 * Throws if the update cannot be decoded.
 */
export const hasForeignContent = (doc: Y.Doc, update: Uint8Array): boolean => {
  const { structs, ds } = Y.decodeUpdate(update)
  for (const s of structs) {
    if (s instanceof Y.Skip) continue
    if (s.id.clock + s.length > Y.getState(doc.store, s.id.client)) return true
  }
  for (const [client, ranges] of ds.clients) {
    const own = doc.store.clients.get(client)
    for (const { clock, len } of ranges) {
      if (len === 0) continue
      if (!own || clock + len > Y.getState(doc.store, client)) return true
      let i = Y.findIndexSS(own, clock)
      while (i < own.length) {
        const s = own[i] as Y.Item | Y.GC
        if (s.id.clock >= clock + len) break
        if (!s.deleted) return true
        i++
      }
    }
  }
  return false
}
