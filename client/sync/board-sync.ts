/**
 * Keeping a bitmap exactly in step with the relay over a live=tiles socket, without a Y.Doc. Pure:
 * it decides what each connect asks for and what each board frame does to the board state; the
 * connection (client/sync/connection.ts) does the I/O.
 *
 * Where the bitmap stands (the basis) decides how a connect asks to be brought up to date:
 *   sv     the bitmap is a snapshot's: send sync step 1 with its state vector; the answer is the
 *          forward diff, painted onto the bitmap (shared/update-reader.ts says why that is exact);
 *   since  the bitmap holds every history seq up to `cursor` (after a cursor frame or Tiles
 *          frames, or stored in IndexedDB): open with since=<cursor>; the relay answers a Tiles
 *          catch-up, or, too far behind, a full sync step 2, painted onto a blank bitmap;
 *   blank  unknown (nothing yet, or an answer arrived without its cursor frame): send sync step 1
 *          with the empty state vector; the answer is the whole board, painted onto a blank bitmap.
 *
 * Frames, in the order received (docs/PROTOCOL.md "Applying frames"): Config grows the board;
 * a sync step 2 paints as above and leaves the cursor unknown until the cursor frame after it;
 * Tiles frames follow the cursor (client/sync/tiles-cursor.ts); a gap asks for the whole board
 * again on the same socket (sync step 1, empty state vector), since the bitmap does not know its
 * state vector once Tiles frames moved it.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { readConfig, readTiles } from '../../shared/frames.ts'
import { MessageType } from '../../shared/protocol.ts'
import type { AnswerBase, BoardState } from './board-state.ts'
import { followTiles } from './tiles-cursor.ts'

/** Where the bitmap stands; see the module comment. */
export type SyncBasis = { kind: 'sv'; stateVector: Uint8Array } | { kind: 'since'; cursor: number } | { kind: 'blank' }

/** y-protocols sync sub-messages. */
export const SyncStep = { Step1: 0, Step2: 1, Update: 2 } as const

/** The empty state vector (Y.encodeStateVector of an empty document): varuint 0 clients. */
const EMPTY_STATE_VECTOR = new Uint8Array([0])

/** A sync step 1 frame asking for everything after `stateVector`. */
export const syncStep1Frame = (stateVector: Uint8Array): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.Sync)
  encoding.writeVarUint(enc, SyncStep.Step1)
  encoding.writeVarUint8Array(enc, stateVector)
  return encoding.toUint8Array(enc)
}

/** What a new socket opens with: the since parameter (or none), and a frame to send once open (or none). */
export type ConnectPlan = { since: number | null; send: Uint8Array | null }

export type BoardSync = {
  /** Called for each new socket, before opening it. */
  connect: () => ConnectPlan
  /**
   * Handles a board frame (Sync, Tiles, Config; `type` already read from `dec`). Returns a frame
   * to send on the same socket (a resync after a gap), or null. Throws on a malformed frame.
   */
  frame: (type: number, dec: decoding.Decoder) => Uint8Array | null
  /** The last history seq the bitmap holds, or null while it is unknown (syncing). */
  cursor: () => number | null
  /** Whether the bitmap is up to date with the socket (a cursor is known since this connect). */
  current: () => boolean
  /**
   * The bitmap was replaced (a returning page chose the snapshot over its stored board,
   * client/sync/start-plan.ts): the next connect asks from `next`. Only before the first connect.
   */
  rebase: (next: SyncBasis) => void
}

export const createBoardSync = (state: BoardState, start: SyncBasis): BoardSync => {
  let basis: SyncBasis = start
  // What the next sync step 2 is painted onto, decided by what this socket asked.
  let answerBase: AnswerBase = 'blank'
  let cursor: number | null = start.kind === 'since' ? start.cursor : null
  // Whether the cursor was confirmed on this socket (a cursor frame, or a catch-up).
  let current = false

  const setCursor = (c: number) => {
    cursor = c
    current = true
    basis = { kind: 'since', cursor: c }
  }

  return {
    rebase: (next) => {
      basis = next
      cursor = next.kind === 'since' ? next.cursor : null
      current = false
    },
    connect: () => {
      current = false
      if (basis.kind === 'since') {
        cursor = basis.cursor
        // Too far behind, the relay answers a full sync step 2 instead of the catch-up.
        answerBase = 'blank'
        return { since: basis.cursor, send: null }
      }
      cursor = null
      if (basis.kind === 'sv' && basis.stateVector.length > 0 && !(basis.stateVector.length === 1 && basis.stateVector[0] === 0)) {
        answerBase = 'current'
        return { since: null, send: syncStep1Frame(basis.stateVector) }
      }
      answerBase = 'blank'
      return { since: null, send: syncStep1Frame(EMPTY_STATE_VECTOR) }
    },
    frame: (type, dec) => {
      if (type === MessageType.Config) {
        state.applyConfig(readConfig(dec))
        return null
      }
      if (type === MessageType.Sync) {
        const step = decoding.readVarUint(dec)
        if (step === SyncStep.Step2) {
          const update = decoding.readVarUint8Array(dec)
          state.applySyncAnswer(update, answerBase)
          // Painted; where it stands is known from the cursor frame that follows.
          basis = { kind: 'blank' }
          cursor = null
          current = false
          // A later answer on this socket (after a gap) answers the empty state vector.
          answerBase = 'blank'
        } else if (step === SyncStep.Update) {
          // live=tiles sockets get no Yjs updates; one would be a forward diff of the bitmap held.
          state.applySyncAnswer(decoding.readVarUint8Array(dec), 'current')
        }
        // A step 1 from the relay asks for our content: a read-only client has none to give.
        return null
      }
      if (type === MessageType.Tiles) {
        const { firstSeq, values } = readTiles(dec)
        const step = followTiles(cursor, firstSeq, values.length)
        if (step.kind === 'cursor') setCursor(step.cursor)
        else if (step.kind === 'apply') {
          state.applyTiles(values, step.from)
          setCursor(step.cursor)
        } else if (step.kind === 'gap') {
          // Seqs went missing: the whole board again, on the same socket (a reconnect would report
          // a Place awaiting its answer as lost). Frames until the new cursor are ignored.
          cursor = null
          current = false
          basis = { kind: 'blank' }
          answerBase = 'blank'
          return syncStep1Frame(EMPTY_STATE_VECTOR)
        }
        return null
      }
      return null
    },
    cursor: () => cursor,
    current: () => current,
  }
}
