/**
 * A live=tiles client as docs/PROTOCOL.md describes it, for tests that follow a board across
 * relays (issue 16's edges): a bitmap painted from the sync answer and Tiles frames, and a
 * cursor (the last seq held). It can move to another relay and resume there with `since`.
 */
import * as decoding from 'lib0/decoding'
import type { DocConfig } from '../../shared/doc-schema.ts'
import { readConfig, readTiles } from '../../shared/frames.ts'
import { MessageType } from '../../shared/protocol.ts'
import { decodeTileValue } from '../../shared/tile-codec.ts'
import { applyUpdateToBitmap, type BoardBitmap, growBitmap } from '../../shared/update-reader.ts'
import { openRaw, type RawSocket } from './clients.ts'
import { SyncType, syncStep1 } from './live-tiles-rig.ts'
import { waitFor } from './wait-for.ts'

export type TilesClient = {
  /** The painted board (null before the first answer). */
  board: () => BoardBitmap | null
  /** Last seq held, or null before the first cursor. */
  cursor: () => number | null
  /** Tiles frames that skipped seqs (firstSeq beyond cursor + 1): the tests expect none. */
  gaps: { expected: number; got: number }[]
  /** The socket now. */
  sock: () => RawSocket
  /** Processes the frames received so far. */
  pump: () => void
  /** Closes this socket and resumes on `wsBase` with `since` = cursor (syncs from scratch if none). */
  moveTo: (wsBase: string) => Promise<void>
  close: () => void
}

export const openTilesClient = async (wsBase: string, board = 'main'): Promise<TilesClient> => {
  let bitmap: BoardBitmap | null = null
  let cursor: number | null = null
  let config: DocConfig | null = null
  let sock: RawSocket
  let done = 0
  const gaps: { expected: number; got: number }[] = []

  const pump = () => {
    while (done < sock.frames.length) {
      const dec = decoding.createDecoder(sock.frames[done++] as Uint8Array)
      const type = decoding.readVarUint(dec)
      if (type === MessageType.Config) {
        config = readConfig(dec) as DocConfig
        if (bitmap) bitmap = growBitmap(bitmap, config.width, config.height)
      } else if (type === MessageType.Sync && decoding.readVarUint(dec) === SyncType.Step2) {
        if (!config) throw new Error('sync step 2 before any Config frame')
        const empty = { bitmap: new Uint8Array(config.width * config.height), width: config.width, height: config.height }
        bitmap = applyUpdateToBitmap(empty, decoding.readVarUint8Array(dec)).board
        cursor = null
      } else if (type === MessageType.Tiles) {
        const { firstSeq, values } = readTiles(dec)
        if (values.length === 0 && cursor === null) {
          cursor = firstSeq - 1
          continue
        }
        if (cursor === null || !bitmap) continue
        if (firstSeq > cursor + 1) {
          gaps.push({ expected: cursor + 1, got: firstSeq })
          continue
        }
        values.forEach((value, i) => {
          if (firstSeq + i <= (cursor as number)) return
          const { x, y, color } = decodeTileValue(value)
          const b = bitmap as BoardBitmap
          if (x < b.width && y < b.height) b.bitmap[y * b.width + x] = color
        })
        cursor = Math.max(cursor, firstSeq + values.length - 1)
      }
    }
  }

  const open = async (base: string) => {
    const since = cursor
    done = 0
    sock = await openRaw(`${base}/${board}?live=tiles${since === null ? '' : `&since=${since}`}`)
    if (since === null) {
      await waitFor(
        () => {
          pump()
          return config
        },
        { what: 'Config frame' },
      )
      sock.send(syncStep1())
    }
    await waitFor(
      () => {
        pump()
        return cursor !== null
      },
      { what: 'tiles cursor' },
    )
  }
  await open(wsBase)
  return {
    board: () => bitmap,
    cursor: () => cursor,
    gaps,
    sock: () => sock,
    pump,
    moveTo: async (base) => {
      sock.close()
      await open(base)
    },
    close: () => sock.close(),
  }
}
