/**
 * An edge relay's commits (scaling out: docs/ARCHITECTURE.md): the writer's Commit messages
 * (shared/stream-messages.ts) that arrived since the last application become one commit of the
 * edge's room: the records it lacks (numbered by the writer) and the updates, made durable with
 * the stream sequence and broadcast by the commit queue as any commit, and the board state, the
 * identities' cooldowns (with per-address cooldowns, their addresses' too, by the pseudonyms the
 * writer publishes) and their sockets brought along.
 */
import * as Y from 'yjs'
import type { Logger } from '../node-kit/log.ts'
import { readBoardBitmap, readDocConfig } from '../shared/doc-schema.ts'
import { encodeSession } from '../shared/frames.ts'
import { type PlacementRecord, RecordKind } from '../shared/placement-record.ts'
import { CommitKind, type CommitMessage } from '../shared/stream-messages.ts'
import type { BoardState } from './board-state.ts'
import type { CommitQueue } from './commit-queue.ts'
import type { Cooldowns } from './cooldowns.ts'
import type { RoomSockets } from './room-sockets.ts'
import type { SyncAnswers } from './sync-answers.ts'

/**
 * Applies the writer's Commit messages up to number `streamSeq` of the board's stream, in one
 * commit: the records the room lacks and the updates are made durable (with streamSeq, where the
 * edge resumes after a restart) and broadcast as any commit. `applied` is called with the history
 * seq the document holds once the commit is broadcast, before this edge's own durable write
 * (relay/commit-queue.ts follow). Resolves false if the room closed first.
 */
export type RoomFollow = (messages: readonly CommitMessage[], streamSeq: number, applied?: (heldSeq: number) => void) => Promise<boolean>

/**
 * The seq up to which an edge's history may lack records (0: it holds them all): a State whose
 * records start after the edge's last seq (an edge that bootstrapped from the writer's State,
 * relay/edge-follower.ts) leaves the records between out. History meta `historyFrom`.
 */
export type HistoryFloor = { get: () => number; set: (seq: number) => void }

export const createRoomFollow = (deps: {
  board: string
  doc: Y.Doc
  state: BoardState
  queue: CommitQueue
  cooldowns: Cooldowns
  sockets: RoomSockets
  floor: HistoryFloor
  answers: Pick<SyncAnswers, 'clear'>
  log: Logger
}): RoomFollow => {
  const { board: id, doc, state, queue, cooldowns, sockets, floor, answers, log } = deps
  return (messages, streamSeq, applied) => {
    // A writer's start republishes from its history what the stream may already hold, and the
    // commits queued before it follow its State message: records held already are skipped.
    let held = queue.docSeq()
    let from = floor.get()
    const fresh: PlacementRecord[] = []
    /** The address pseudonym of each fresh record ('' none), as the writer published it. */
    const addresses: string[] = []
    for (const m of messages) {
      if (m.kind === CommitKind.State) {
        // A State holds the whole document: records it leaves out (a bootstrap) are a hole in
        // this history, below which it answers no history read (relay/edge-follower.ts puts a
        // State first in its batch, so that the records of one append stay consecutive).
        const reach = m.records.find((r) => r.seq > held)?.seq ?? m.docSeq + 1
        if (reach > held + 1) {
          if (fresh.length > 0) throw new Error(`board ${id}: a State that leaves records out must come first in its batch`)
          log.warn(`board ${id}: the history here lacks seqs ${held + 1}..${reach - 1} (bootstrapped from the writer's State)`)
          held = reach - 1
          from = held
        }
      }
      m.records.forEach((r, i) => {
        if (r.seq <= held) return
        if (r.seq !== held + 1) log.error(`board ${id}: the stream skips from seq ${held} to ${r.seq}; the history here has a gap`)
        fresh.push(r as PlacementRecord)
        addresses.push(m.addresses?.[i] ?? '')
        held = r.seq
      })
    }
    // The identities' cooldowns as the writer started them, and with per-address cooldowns their
    // addresses' (by pseudonym), so that this edge's Session frames tell when each may place
    // again (an admin's placements go in too: nobody places as admin here).
    fresh.forEach((r, i) => {
      if (r.kind === RecordKind.Placement) cooldowns.adopt(r.user, addresses[i] as string, r.placedAt)
    })
    // A State's per-address cooldowns: those of the Commit messages it stands for, which this edge
    // skipped (a bootstrap or a repair), and the writer's saved ones (shared/stream-messages.ts).
    const stated = messages.flatMap((m) => m.addressCooldowns ?? [])
    for (const c of stated) cooldowns.adoptAddress(c.address, c.placedAt)
    const meta: Record<string, number> = { streamSeq }
    if (from !== floor.get()) {
      meta.historyFrom = from
      meta.docSeq = held
    }
    const followed = queue.follow(
      fresh,
      meta,
      () => {
        // One transaction: one captured update for the batch, as one commit of the writer's has.
        doc.transact(() => {
          for (const m of messages) if (m.update.length > 0) Y.applyUpdate(doc, m.update)
        })
        const shipped = readDocConfig(doc)
        const changed = shipped && shipped.version !== state.docConfig().version ? shipped : null
        // Within the commit (sync answers wait for it): no cached answer outlives a hole.
        if (from !== floor.get()) answers.clear()
        if (messages.some((m) => m.kind === CommitKind.State)) {
          // The writer's whole document: the bitmap is read from it (records cover only the tail).
          const config = shipped ?? state.docConfig()
          state.adopt(config, readBoardBitmap(doc, config.width, config.height))
          return changed
        }
        if (changed) state.adopt(changed)
        const { width, height } = state.board()
        const bitmap = state.bitmap()
        for (const r of fresh) if (r.x < width && r.y < height) bitmap[r.y * width + r.x] = r.color
        return changed
      },
      applied,
    )
    return followed.then((ok) => {
      if (ok && from !== floor.get()) floor.set(from)
      // As the writer tells an identity's other tabs that its cooldown started, this edge tells
      // its tabs here (the placing tab may be on another edge; here it gets the same time twice).
      const cooldownMs = state.board().cooldownMs
      // The sockets here from a State's addresses (a repair: they are open already) learn theirs
      // ('' : no identity's tabs are left out, the placer's included: identities are never '').
      if (ok && cooldownMs > 0) for (const c of stated) sockets.addressPlaced(c.address, '')
      if (ok && cooldownMs > 0) {
        fresh.forEach((r, i) => {
          if (r.kind !== RecordKind.Placement) return
          // Other identities' sockets from the placing address too (any edge's: the placement may have come through another).
          const address = addresses[i] as string
          if (address !== '') sockets.addressPlaced(address, r.user)
          const tabs = sockets.tabsOf(r.user)
          if (!tabs) return
          const frame = encodeSession(r.user, r.placedAt + cooldownMs)
          for (const conn of tabs) conn.send(frame)
        })
      }
      return ok
    })
  }
}
