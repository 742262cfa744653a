/**
 * Follows one board over the y-websocket protocol with the official provider and a Y.Doc, like
 * any reader (never the relay's LevelDB). The provider reconnects by itself after a relay
 * restart and resyncs from the doc's state vector.
 *
 * It asks for cursor frames (`cursors=1`, docs/PROTOCOL.md): after its sync answer and after
 * each commit's update, an empty Tiles frame names the last history seq the document holds, so
 * that each snapshot says where it stands (its sidecar's `seq`). A capture taken between an
 * update and its cursor names the seq before that update: lower than the truth, which is safe
 * (a reader catching up from it repaints writes the PNG already shows, in order); never higher.
 */
import type * as decoding from 'lib0/decoding'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { type DocConfig, RootKey, readBoardBitmap, readDocConfig, rootOf } from '../shared/doc-schema.ts'
import { readTiles } from '../shared/frames.ts'
import { CURSORS_PARAM, MessageType } from '../shared/protocol.ts'
import { stateVectorSum } from '../shared/update-reader.ts'
import type { StreamDoc } from './stream-doc-file.ts'

/** The board at one instant: what a snapshot holds. */
export type BoardCapture = {
  config: DocConfig
  /** Row-major color indices, config.width * config.height. */
  bitmap: Uint8Array
  /** Y.encodeStateVector of the doc the bitmap was painted from. */
  stateVector: Uint8Array
  version: number
  epoch: string | null
  /** The last history seq the bitmap holds (see the module comment), or null while unknown. */
  seq: number | null
  /** A stream follower's document and position, kept beside the snapshot (snapshotter/stream-doc-file.ts); absent for a socket follower. */
  resume?: StreamDoc
}

export type BoardFollow = {
  /** Whether the provider is connected and has applied the relay's sync step 2. */
  synced: () => boolean
  /** Sum of the doc's state vector clocks (shared/update-reader.ts stateVectorSum). */
  version: () => number
  /** Paints the doc as it is now; null until a board descriptor has arrived. */
  capture: () => BoardCapture | null
  /** Called after every applied update and every (re)sync. */
  onChange: (fn: () => void) => void
  /** A stream follower's first stream sequence asked for (null before it asked); absent for a socket follower. */
  streamFrom?: () => number | null
  /** Stops following; resolves once its connections are closed. */
  close: () => void | Promise<void>
}

/** Sum of a document's state vector clocks: the snapshot version of what it holds. */
export const versionOf = (doc: Y.Doc): number => stateVectorSum(Y.decodeStateVector(Y.encodeStateVector(doc)))

const epochIdOf = (doc: Y.Doc): string | null => {
  const epoch = rootOf(doc).get(RootKey.Epoch)
  const id = epoch instanceof Y.Map ? epoch._item?.id : undefined
  return id ? `${id.client}:${id.clock}` : null
}

/** Paints `doc` as it is now, holding history seq `seq`; null until a board descriptor has arrived. */
export const captureDoc = (doc: Y.Doc, seq: number | null): BoardCapture | null => {
  const config = readDocConfig(doc)
  if (!config) return null
  const stateVector = Y.encodeStateVector(doc)
  return {
    config,
    bitmap: readBoardBitmap(doc, config.width, config.height),
    stateVector,
    version: stateVectorSum(Y.decodeStateVector(stateVector)),
    epoch: epochIdOf(doc),
    seq,
  }
}

/** Connects to ws base `wsBase` (…/ws), board `board`. */
export const followBoard = (opts: { wsBase: string; board: string; WebSocket: unknown }): BoardFollow => {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(opts.wsBase, opts.board, doc, {
    WebSocketPolyfill: opts.WebSocket as typeof globalThis.WebSocket,
    disableBc: true,
    params: { [CURSORS_PARAM]: '1' },
  })
  // The last cursor heard on this connection. Forgotten when the connection drops: the relay's
  // data may have been replaced meanwhile, and its seqs with it.
  let seq: number | null = null
  provider.messageHandlers[MessageType.Tiles] = (_encoder: unknown, decoder: decoding.Decoder) => {
    const { firstSeq, values } = readTiles(decoder)
    if (values.length === 0) seq = firstSeq - 1
  }
  provider.on('status', ({ status }: { status: string }) => {
    if (status !== 'connected') seq = null
  })
  // The relay never fans awareness out: publish no state.
  provider.awareness.setLocalState(null)
  const listeners = new Set<() => void>()
  const notify = () => {
    for (const fn of listeners) fn()
  }
  doc.on('update', notify)
  provider.on('sync', notify)
  return {
    synced: () => provider.synced && provider.wsconnected,
    version: () => versionOf(doc),
    capture: () => captureDoc(doc, seq),
    onChange: (fn) => {
      listeners.add(fn)
    },
    close: () => {
      listeners.clear()
      provider.destroy()
      doc.destroy()
    },
  }
}
