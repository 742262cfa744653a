/**
 * Admin operations that change many tiles (rollback, undo of a rollback, fill and blank): run in
 * chunks so that placements keep flowing, and journalled so that a crash leaves them finishable.
 *
 * Journal (history database, relay/operation-journal.ts): before an operation touches anything its
 * intent is written (kind, parameters, and its cut: the last history seq when it began). Each
 * chunk is one exclusive section of the room (docs/ARCHITECTURE.md "Moderation and rollback"):
 * its tile writes, its rollback marks and the journal's progress land in one LevelDB batch, so a
 * placement is never marked without its tile's restore, nor a chunk written without its progress.
 * The audit entry and the journal entry's deletion are one batch too. A start resumes every entry
 * left (relay/relay.ts): the remaining work is recomputed from the history (a rollback's matches
 * up to its cut that do not carry its mark yet; an undo's marks still there; a fill's rows after
 * its progress), and the audit entry says `resumed: true`.
 *
 * Ordering against placements. Placements are validated and committed between chunks. A chunk
 * computes its restores outside the exclusive section (reading the history, slow), then inside it
 * (everything accepted before is committed by then, nothing commits meanwhile) recomputes the
 * tiles whose latest seq moved since, and commits its writes ahead of anything accepted during the
 * section. So a placement accepted after the operation began is never overwritten by it: a
 * rollback restores a tile's latest placement not rolled back, which is that later placement (its
 * colour stays), and a fill skips tiles written after its cut.
 */

import type { Logger } from '../node-kit/log.ts'
import type { Rect } from '../shared/placement.ts'
import { RecordKind } from '../shared/placement-record.ts'
import type { AuditEntry } from './audit-log.ts'
import type { HistoryStore } from './history-store.ts'
import {
  type MarkChange,
  matchesFilter,
  type PlannedRestore,
  RESTORE_USER,
  type RollbackFilter,
  type RollbackOutcome,
  restoresOf,
} from './rollback.ts'
import type { Room, TileWrite } from './room.ts'

/** The user name under which admin fills are written in the history. */
export const ADMIN_USER = '@admin'

/**
 * Tiles one chunk writes by default (ADMIN_CHUNK_TILES). Placement p99 during a 250,000-tile
 * rollback (bench/rollback-latency.ts, one run each on a shared 2-core machine, 2026-12-03):
 * 256 -> 20-23 ms, 1,024 -> 221 ms, 512 -> 893 ms (the machine busier then); the rollback takes
 * 10-21 s either way.
 */
export const ADMIN_CHUNK_TILES = 256

/** Who began an operation: the audit log's actor, and the address the call came from (absent in journals from before it). */
export type OpCaller = { actor: string; address?: string }

/** A journal entry: an operation begun and not finished. Times in ms since the Unix epoch. */
export type Operation =
  | {
      kind: 'rollback'
      id: number
      filter: RollbackFilter
      /** The last history seq when it began: placements after it are not rolled back. */
      cut: number
      actor: string
      address?: string
      at: number
      /** Tiles whose colour changed so far. */
      tiles: number
    }
  | { kind: 'undo'; id: number; placements: number; actor: string; address?: string; at: number; tiles: number }
  | {
      kind: 'fill'
      action: 'fill' | 'blank'
      rect: Rect
      color: number
      /** The last history seq when it began: tiles written after it keep their colour. */
      cut: number
      /** The first row not written yet. */
      row: number
      actor: string
      address?: string
      at: number
      tiles: number
    }

export type AdminOps = {
  /** Rolls back every placement matching the filter, up to the moment it begins. */
  rollback: (room: Room, filter: RollbackFilter, caller: OpCaller) => Promise<{ outcome: RollbackOutcome; audit: AuditEntry }>
  /** Undoes rollback `id`; null if it marks nothing (unknown, or undone already). */
  undo: (room: Room, id: number, caller: OpCaller) => Promise<{ outcome: RollbackOutcome; audit: AuditEntry } | null>
  /** Writes `color` over a rectangle (blank: colour 0); tiles placed after it began keep theirs. */
  fill: (room: Room, rect: Rect, color: number, action: 'fill' | 'blank', caller: OpCaller) => Promise<{ tiles: number; audit: AuditEntry }>
  /** Reads the journal and resumes every operation left in it, each after the board's ones before. Resolves once all are queued. */
  resume: (rooms: ReadonlyMap<string, Room>) => Promise<void>
  /** Stops between chunks (what is left resumes at the next start) and waits for that. */
  close: () => Promise<void>
}

export type AdminOpsDeps = {
  history: HistoryStore
  log: Logger
  now: () => number
  /** Tiles per chunk (each chunk pauses commits for its writes' commit). */
  chunkTiles: number
}

/** Records a history scan reads between two returns to the event loop (about 5 ms of scan). */
const SCAN_YIELD_RECORDS = 8_192

const Closing = 'the relay is closing: the operation resumes at the next start'

/** Tile key across board sizes (x, y < 65,536). */
const tileKey = (x: number, y: number) => y * 65_536 + x

export const createAdminOps = (deps: AdminOpsDeps): AdminOps => {
  const { history, log, now } = deps
  const chunkTiles = Math.max(1, deps.chunkTiles)
  // One operation at a time per board, in call order (marks of two at once could interleave).
  const tails = new Map<string, Promise<unknown>>()
  let closing = false
  const serial = <T>(board: string, fn: () => Promise<T>): Promise<T> => {
    const run = (tails.get(board) ?? Promise.resolve()).then(() => {
      if (closing) throw new Error(Closing)
      return fn()
    })
    tails.set(
      board,
      run.catch(() => {}),
    )
    return run
  }
  const checkOpen = () => {
    if (closing) throw new Error(Closing)
  }

  /** The last seq when called, after everything accepted before is committed. */
  const cutOf = (room: Room) =>
    room.exclusive(async () => ({ result: await history.lastSeq(room.id), writes: [], user: RESTORE_USER, kind: RecordKind.Restore }))

  /**
   * Rewrites the given tiles, a chunk at a time, adding rollback `id`'s mark to (or removing it
   * from) each tile's seqs in the same batch as the tile's restore; returns the journal entry
   * with the tiles changed counted in.
   */
  const restoreTiles = async (
    room: Room,
    name: string,
    byTile: Map<number, number[]>,
    mode: 'add' | 'remove',
    id: number,
    start: Operation,
  ): Promise<Operation> => {
    let op = start
    // In the order first matched (no sort: sorting 250,000 keys at once would hold the thread).
    const tiles = [...byTile.keys()]
    for (let i = 0; i < tiles.length; i += chunkTiles) {
      checkOpen()
      const chunk = tiles.slice(i, i + chunkTiles)
      const seqs = chunk.flatMap((t) => byTile.get(t) as number[])
      const change: MarkChange =
        mode === 'add' ? { id, add: new Set(seqs), remove: new Set() } : { id, add: new Set(), remove: new Set(seqs) }
      const xy = chunk.map((t) => ({ x: t % 65_536, y: Math.floor(t / 65_536) }))
      // Outside the section: placements go on meanwhile.
      const planned = await restoresOf(history, room.id, xy, change)
      op = await room.exclusive(async () => {
        // Tiles written since they were planned (placements committed meanwhile): planned again.
        const moved: number[] = []
        for (let j = 0; j < planned.length; j++) {
          const { write, latest } = planned[j] as PlannedRestore
          if ((await history.tileLatestSeq(room.id, write.x, write.y)) !== latest) moved.push(j)
        }
        const again = await restoresOf(
          history,
          room.id,
          moved.map((j) => xy[j] as { x: number; y: number }),
          change,
        )
        moved.forEach((j, k) => {
          planned[j] = again[k] as PlannedRestore
        })
        const bitmap = room.bitmap()
        const { width } = room.config()
        const writes: TileWrite[] = []
        let changed = 0
        for (const { write } of planned) {
          writes.push(write)
          if (bitmap[write.y * width + write.x] !== write.color) changed += 1
        }
        const next = { ...op, tiles: op.tiles + changed }
        return {
          result: next,
          writes,
          user: RESTORE_USER,
          kind: RecordKind.Restore,
          attach: {
            marks: mode === 'add' ? { id, add: seqs, remove: [] } : { id, add: [], remove: seqs },
            operations: { [name]: next },
          },
        }
      })
    }
    return op
  }

  const runRollback = async (room: Room, name: string, op: Extract<Operation, { kind: 'rollback' }>, resumed: boolean) => {
    // Every match up to the cut, grouped by tile a batch at a time, with a return to the event
    // loop after each: the iterator hands over records in microtasks, several blocks per read,
    // and grouping 250,000 matches at once held the thread ~100 ms, and every placement with it.
    const byTile = new Map<number, number[]>()
    let placements = 0
    let batch: { seq: number; tile: number }[] = []
    const group = async () => {
      let keep = batch
      batch = []
      if (resumed) {
        // Those its finished chunks marked are done.
        const marks = await history.marksOf(
          room.id,
          keep.map((m) => m.seq),
        )
        keep = keep.filter((_, j) => !(marks[j] ?? []).includes(op.id))
      }
      for (const m of keep) {
        const list = byTile.get(m.tile)
        if (list) list.push(m.seq)
        else byTile.set(m.tile, [m.seq])
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    let read = 0
    for await (const r of history.readAfter(room.id, 0)) {
      if (r.seq > op.cut) break
      if (matchesFilter(r, op.filter)) {
        placements += 1
        batch.push({ seq: r.seq, tile: tileKey(r.x, r.y) })
      }
      if (++read % SCAN_YIELD_RECORDS === 0) await group()
    }
    await group()
    const done = await restoreTiles(room, name, byTile, 'add', op.id, op)
    const outcome = { id: op.id, placements, tiles: done.tiles }
    const audit = await history.finishOperation(room.id, name, {
      at: now(),
      actor: op.actor,
      ...(op.address === undefined ? {} : { address: op.address }),
      action: 'rollback',
      board: room.id,
      tiles: done.tiles,
      details: { ...op.filter, rollback: op.id, placements, ...(resumed ? { resumed: true } : {}) },
    })
    return { outcome, audit }
  }

  const runUndo = async (room: Room, name: string, op: Extract<Operation, { kind: 'undo' }>, resumed: boolean) => {
    // The marks still there are the work left (each chunk removes its own with its restores).
    const seqs = await history.membersOf(room.id, op.id)
    const byTile = new Map<number, number[]>()
    // A batch at a time, with a return to the event loop after each (as a rollback's scan).
    for (let i = 0; i < seqs.length; i += SCAN_YIELD_RECORDS) {
      for (const r of await history.getRecords(room.id, seqs.slice(i, i + SCAN_YIELD_RECORDS))) {
        if (!r) continue
        const tile = tileKey(r.x, r.y)
        const list = byTile.get(tile)
        if (list) list.push(r.seq)
        else byTile.set(tile, [r.seq])
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    const done = await restoreTiles(room, name, byTile, 'remove', op.id, op)
    const outcome = { id: op.id, placements: op.placements, tiles: done.tiles }
    const audit = await history.finishOperation(room.id, name, {
      at: now(),
      actor: op.actor,
      ...(op.address === undefined ? {} : { address: op.address }),
      action: 'undo-rollback',
      board: room.id,
      tiles: done.tiles,
      details: { rollback: op.id, placements: op.placements, ...(resumed ? { resumed: true } : {}) },
    })
    return { outcome, audit }
  }

  const runFill = async (room: Room, name: string, start: Extract<Operation, { kind: 'fill' }>, resumed: boolean) => {
    let op = start
    const { rect, color, cut } = op
    const rows = Math.max(1, Math.floor(chunkTiles / rect.w))
    while (op.row < rect.y + rect.h) {
      checkOpen()
      const from = op.row
      op = await room.exclusive(async () => {
        const bitmap = room.bitmap()
        const { width } = room.config()
        const writes: TileWrite[] = []
        let changed = 0
        const to = Math.min(rect.y + rect.h, from + rows)
        for (let y = from; y < to; y++) {
          for (let x = rect.x; x < rect.x + rect.w; x++) {
            // Written after the fill began: that placement was validated later, and wins.
            if ((await history.tileLatestSeq(room.id, x, y)) > cut) continue
            writes.push({ x, y, color })
            if (bitmap[y * width + x] !== color) changed += 1
          }
        }
        const next = { ...op, row: to, tiles: op.tiles + changed }
        return { result: next, writes, user: ADMIN_USER, kind: RecordKind.Fill, attach: { operations: { [name]: next } } }
      })
    }
    const audit = await history.finishOperation(room.id, name, {
      at: now(),
      actor: op.actor,
      ...(op.address === undefined ? {} : { address: op.address }),
      action: op.action,
      board: room.id,
      tiles: op.tiles,
      details: { ...rect, color, ...(resumed ? { resumed: true } : {}) },
    })
    return { tiles: op.tiles, audit }
  }

  const nextCounter = async (board: string, name: string): Promise<number> => {
    const n = (((await history.getJson(board, name)) as number | undefined) ?? 0) + 1
    await history.putJson(board, name, n)
    return n
  }

  return {
    rollback: (room, filter, { actor, address }) =>
      serial(room.id, async () => {
        const id = await nextCounter(room.id, 'rollbackSeq')
        const cut = await cutOf(room)
        const op = { kind: 'rollback', id, filter, cut, actor, address, at: now(), tiles: 0 } as const
        await history.putOperation(room.id, `rollback:${id}`, op)
        return runRollback(room, `rollback:${id}`, op, false)
      }),
    undo: (room, id, { actor, address }) =>
      serial(room.id, async () => {
        const seqs = await history.membersOf(room.id, id)
        if (seqs.length === 0) return null
        const op = { kind: 'undo', id, placements: seqs.length, actor, address, at: now(), tiles: 0 } as const
        await history.putOperation(room.id, `undo:${id}`, op)
        return runUndo(room, `undo:${id}`, op, false)
      }),
    fill: (room, rect, color, action, { actor, address }) =>
      serial(room.id, async () => {
        const name = `fill:${await nextCounter(room.id, 'fillSeq')}`
        const cut = await cutOf(room)
        const op = { kind: 'fill', action, rect, color, cut, row: rect.y, actor, address, at: now(), tiles: 0 } as const
        await history.putOperation(room.id, name, op)
        return runFill(room, name, op, false)
      }),
    resume: async (rooms) => {
      // In the order begun (normally one per board: a board runs one operation at a time).
      const entries = (await history.readOperations()).sort((a, b) => (a.value as Operation).at - (b.value as Operation).at)
      for (const { board, name, value } of entries) {
        const room = rooms.get(board)
        const op = value as Operation
        if (!room) {
          log.warn(`board ${board}: ${name} was interrupted, but the board is not configured; it resumes when it is`)
          continue
        }
        log.warn(`board ${board}: resuming ${name} (begun ${new Date(op.at).toISOString()} by ${op.actor}), interrupted by a stop`)
        const run = (): Promise<{ audit: AuditEntry }> =>
          op.kind === 'rollback'
            ? runRollback(room, name, op, true)
            : op.kind === 'undo'
              ? runUndo(room, name, op, true)
              : runFill(room, name, op, true)
        serial(board, run).then(
          ({ audit }) => log.warn(`board ${board}: ${name} finished after its interruption (audit entry ${audit.seq})`),
          (err: Error) => log.error(`board ${board}: resuming ${name} failed:`, err.message),
        )
      }
    },
    close: async () => {
      closing = true
      await Promise.all(tails.values())
    },
  }
}
