/**
 * Follows one board over the y-websocket protocol with the official provider and a Y.Doc, like
 * any reader (never the relay's LevelDB). The provider reconnects by itself after a relay
 * restart and resyncs from the doc's state vector.
 */
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { type DocConfig, RootKey, readBoardBitmap, readDocConfig, rootOf } from '../shared/doc-schema.ts'
import { stateVectorSum } from '../shared/update-reader.ts'

/** The board at one instant: what a snapshot holds. */
export type BoardCapture = {
  config: DocConfig
  /** Row-major color indices, config.width * config.height. */
  bitmap: Uint8Array
  /** Y.encodeStateVector of the doc the bitmap was painted from. */
  stateVector: Uint8Array
  version: number
  epoch: string | null
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
  close: () => void
}

const versionOf = (doc: Y.Doc): number => stateVectorSum(Y.decodeStateVector(Y.encodeStateVector(doc)))

const epochIdOf = (doc: Y.Doc): string | null => {
  const epoch = rootOf(doc).get(RootKey.Epoch)
  const id = epoch instanceof Y.Map ? epoch._item?.id : undefined
  return id ? `${id.client}:${id.clock}` : null
}

/** Connects to ws base `wsBase` (…/ws), board `board`. */
export const followBoard = (opts: { wsBase: string; board: string; WebSocket: unknown }): BoardFollow => {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(opts.wsBase, opts.board, doc, {
    WebSocketPolyfill: opts.WebSocket as typeof globalThis.WebSocket,
    disableBc: true,
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
    capture: () => {
      const config = readDocConfig(doc)
      if (!config) return null
      const stateVector = Y.encodeStateVector(doc)
      return {
        config,
        bitmap: readBoardBitmap(doc, config.width, config.height),
        stateVector,
        version: stateVectorSum(Y.decodeStateVector(stateVector)),
        epoch: epochIdOf(doc),
      }
    },
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
