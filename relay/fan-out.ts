/**
 * The fan-out: durable commits reach the board's sockets here, coalesced on a cadence that
 * adapts to what a broadcast costs and how busy the relay is (issue 15).
 *
 * Why: a broadcast costs one socket write per viewer (a system call through the loopback or
 * network stack, 5-12 us each measured), whatever the commit's size. Written per commit, 1,000
 * viewers made socket writes 41-56% of the relay's time, and the commit rate, not the viewers'
 * needs, set how often they were written. Now a commit is acknowledged as soon as it is durable
 * (relay/commit-queue.ts) and its frames wait here for the next broadcast:
 *
 * - A broadcast may start once `spacing` ms have passed since the previous one ended, where
 *   spacing = (the previous broadcast's duration) x (1 / share - 1), so that from one start to
 *   the next broadcasts take at most `share` of the thread, and share, the part of the thread
 *   broadcasts may take, falls from SHARE_IDLE to SHARE_BUSY as the relay's other work (the
 *   event loop's utilisation since the last broadcast, bounded by the CPU time the process got
 *   then, createLoopUtilisation, less the broadcast's own time) rises
 *   from a quarter of the thread to half of it (smoothed over broadcasts). The duration includes the socket writes, which for a
 *   broadcast made with a commit happen at the commit's uncork (reported by the commit queue). Spacing never exceeds MAX_DELAY_MS, and
 *   BROADCAST_MIN_MS can set a floor. With few sockets a broadcast costs microseconds and every
 *   commit is broadcast at once, with its acknowledgements, as before; with 1,000 viewers a
 *   broadcast costs milliseconds and the commits of that time go together.
 * - Coalescing is exact: live=tiles sockets receive the Config and Tiles frames of the commits
 *   in order, consecutive Tiles frames joined into one (their seqs are contiguous, so the joined
 *   frame is their concatenation); live=yjs sockets receive each commit's update frame, in
 *   order, in one write. Seqs, cursors, resumes and cached sync answers see exactly what they
 *   saw when each commit was broadcast alone.
 * - Each broadcast's frames are framed once into one buffer per kind of socket (tiles, yjs,
 *   yjs with cursors) and that same buffer is written to every socket of the kind.
 */
import { performance } from 'node:perf_hooks'
import type { DocConfig } from '../shared/doc-schema.ts'
import { encodeConfig, encodeTiles } from '../shared/frames.ts'
import { LiveMode } from '../shared/protocol.ts'
import type { RoomConn, RoomSockets } from './room-sockets.ts'
import type { SyncAnswers } from './sync-answers.ts'
import { binaryFrame } from './ws-frame.ts'

/**
 * The longest adaptive spacing between broadcasts, ms: reached only by a relay whose other work
 * takes at least half the thread (saturated), where broadcasts spaced by ten times their cost
 * (1,000 viewers: 10-30 ms each here) give the commits the thread. At 1,000 placements/s to
 * 1,000 viewers the other work is under a quarter of the thread and broadcasts go back to back
 * (the p99 place-to-visible budget of 50 ms applies there).
 */
export const MAX_DELAY_MS = 100
/**
 * The share of the thread broadcasts may take while the relay's other work takes at most half of
 * it: all of it (back to back, as when each commit was broadcast alone: latency first).
 */
const SHARE_IDLE = 1
/** The share of the thread broadcasts may take while the relay's other work takes all of it. */
const SHARE_BUSY = 0.1
/**
 * The relay's other work (a share of the thread, 0..1, smoothed) up to which broadcasts go back
 * to back, and from which they take SHARE_BUSY. Measured with 1,000 viewers: at 1,000
 * placements/s the other work is 0.06-0.16 of the thread (10th-90th percentile of broadcasts),
 * 0.32 at the 99th; saturated with broadcasts back to back it is 0.22-0.72, median 0.48, as the
 * broadcasts take the rest (docs/PERFORMANCE.md "Fan-out").
 */
const OTHER_IDLE = 0.25
const OTHER_BUSY = 0.5
/** Weight of the newest measure in the smoothed other work: one busy interval is not a trend. */
const SMOOTHING = 0.3

/** What one durable commit broadcasts. */
export type CommitBroadcast = {
  /** The tile values of its records, seqs firstSeq, firstSeq + 1, ... (none: empty). */
  firstSeq: number
  tiles: readonly number[]
  /** Its last configuration change, if any (the board's whole document config). */
  config: DocConfig | null
  /** Its Yjs update frame (a sync update message), or null if it changed no document content. */
  yjs: Uint8Array | null
  /** The history seq the document holds durably up to after it. */
  docSeq: number
}

export type FanOut = {
  /**
   * Takes a durable commit's frames, the sockets being corked by the caller; true if they were
   * broadcast now (into the outboxes: the caller then reports what writing them cost with
   * `sent`), false if they wait for a timer.
   */
  committed: (c: CommitBroadcast) => boolean
  /**
   * What a broadcast made by `committed` cost, in ms, from before the sockets were corked to
   * after they were uncorked (the socket writes happen at uncork): sets the next one's spacing.
   */
  sent: (costMs: number) => void
  /** Broadcasts every commit still waiting, now (before a sync answer is encoded, on close). */
  flush: () => void
  /** The history seq every socket has been sent (what a cached sync answer holds). */
  sentSeq: () => number
  /** Commits waiting for their broadcast (diagnostics and tests). */
  waiting: () => number
  /** Cancels the timer; what waits is dropped with the room. */
  close: () => void
}

/** A kind of socket's frames for one broadcast: the payloads and, framed once, their bytes. */
type Group = { payloads: Uint8Array[]; framed: Buffer }

const groupOf = (payloads: Uint8Array[]): Group => ({
  payloads,
  framed: payloads.length === 1 ? binaryFrame(payloads[0] as Uint8Array) : Buffer.concat(payloads.map(binaryFrame)),
})

/** Readings of the event loop's utilisation and of the process's CPU time, as Node gives them. */
export type LoadReadings = {
  /** performance.eventLoopUtilization(): cumulative idle and active ms of the loop. */
  loop: () => { idle: number; active: number }
  /** process.cpuUsage(): cumulative user and system µs of every thread of the process. */
  cpu: () => { user: number; system: number }
}

const nodeReadings: LoadReadings = {
  loop: () => performance.eventLoopUtilization(),
  cpu: () => process.cpuUsage(),
}

/**
 * The thread's busy share since the last call (0..1) and the wall ms that covers: the event
 * loop's utilisation, but never more than the CPU the process got in that time.
 *
 * Why: utilisation is measured in wall time, and a loop that the kernel takes off the CPU in the
 * middle of a callback counts as active all the while. On a machine whose cores are shared (the
 * edges bench: a writer, two edges, nats-server and the load generators on 2 cores) an edge's
 * loop read 0.70 busy while the whole process used 0.35 of a core (all its threads), so its
 * broadcasts spaced themselves to MAX_DELAY_MS for work it was not doing: at 1,000 placements/s
 * a placement waited 53 ms (median) between the edge's durable apply and its broadcast
 * (docs/PERFORMANCE.md "Scaling out ... broadcast spacing"). The process's CPU time counts only
 * time on a CPU (but every thread's: LevelDB's, the collector's), so the smaller of the two is
 * the better bound on the loop's own work. A relay that has a core to itself reads the same as before.
 */
export const createLoopUtilisation = (readings: LoadReadings = nodeReadings): (() => { elu: number; ms: number }) => {
  let lastLoop = readings.loop()
  let lastCpu = readings.cpu()
  return () => {
    const loop = readings.loop()
    const cpu = readings.cpu()
    const active = loop.active - lastLoop.active
    const ms = active + (loop.idle - lastLoop.idle)
    const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000
    lastLoop = loop
    lastCpu = cpu
    if (ms <= 0) return { elu: 0, ms: 0 }
    return { elu: Math.min(active, cpuMs) / ms, ms }
  }
}

/** The share of the thread broadcasts may take while the relay's other work takes `elu` of it (0..1). */
export const broadcastShare = (elu: number): number => {
  if (elu <= OTHER_IDLE) return SHARE_IDLE
  const busy = Math.min(1, (elu - OTHER_IDLE) / (OTHER_BUSY - OTHER_IDLE))
  return SHARE_IDLE - (SHARE_IDLE - SHARE_BUSY) * busy
}

/**
 * Ms between the end of a broadcast that took `costMs` and the start of the next: broadcasts take
 * at most the share of the thread from one start to the next (share 1: back to back).
 */
export const broadcastSpacing = (costMs: number, elu: number): number => Math.min(MAX_DELAY_MS, costMs / broadcastShare(elu) - costMs)

export const createFanOut = (deps: {
  sockets: RoomSockets
  answers: SyncAnswers
  /** The history seq the document held when the room opened. */
  docSeq: number
  /** A floor on the spacing, ms (BROADCAST_MIN_MS; 0: adaptive only). */
  minSpacingMs?: number
  /** Monotonic ms (performance.now). */
  clock?: () => number
  /**
   * The thread's busy share (0..1) since the last call and the wall ms that covers
   * (createLoopUtilisation).
   */
  utilisation?: () => { elu: number; ms: number }
}): FanOut => {
  const clock = deps.clock ?? (() => performance.now())
  const utilisation = deps.utilisation ?? createLoopUtilisation()
  let waiting: CommitBroadcast[] = []
  let sent = deps.docSeq
  /** When the next broadcast may start (clock ms). */
  let dueAt = 0
  let timer: NodeJS.Timeout | null = null
  /** The relay's other work, a share of the thread (0..1), smoothed over broadcasts (null: none yet). */
  let otherWork: number | null = null

  /** The live=tiles frames for `commits`: Config and Tiles in order, consecutive Tiles joined. */
  const tilesPayloads = (commits: readonly CommitBroadcast[]): Uint8Array[] => {
    const out: Uint8Array[] = []
    let runFirst = 0
    let run: number[] = []
    const endRun = () => {
      if (run.length > 0) out.push(encodeTiles(runFirst, run))
      run = []
    }
    for (const c of commits) {
      // Config first: tiles of a grown board must find it grown.
      if (c.config) {
        endRun()
        out.push(encodeConfig(c.config))
      }
      if (c.tiles.length === 0) continue
      // Seqs are contiguous across commits; a gap (never expected) starts a new frame, not a lie.
      if (run.length > 0 && c.firstSeq !== runFirst + run.length) endRun()
      if (run.length === 0) runFirst = c.firstSeq
      // A loop, not push(...): a fill's commit is beyond the engine's argument limit.
      for (const v of c.tiles) run.push(v)
    }
    endRun()
    return out
  }

  /** Sets when the next broadcast may start, from what the one that just ended cost (ms). */
  const spaceAfter = (costMs: number) => {
    // The relay's other work since the last broadcast: the loop's busy time less this broadcast's
    // own (counting it would make broadcasts space themselves further the more they cost).
    const { elu, ms } = utilisation()
    const other = ms > 0 ? Math.max(0, elu - costMs / ms) : 0
    otherWork = otherWork === null ? other : otherWork + SMOOTHING * (other - otherWork)
    dueAt = clock() + Math.max(deps.minSpacingMs ?? 0, broadcastSpacing(costMs, otherWork))
  }

  /**
   * Sends what waits. Uncorked sockets are written here, and the broadcast's cost is measured
   * here; into corked ones (`corked`: a commit's, with its acknowledgements) the writes happen at
   * the caller's uncork, and the caller reports their cost (FanOut.sent).
   */
  const broadcast = (corked = false) => {
    if (timer) {
      clearTimeout(timer)
      timer = null
    }
    if (waiting.length === 0) return
    const commits = waiting
    waiting = []
    const started = clock()
    const last = commits[commits.length - 1] as CommitBroadcast
    const yjsPayloads: Uint8Array[] = []
    for (const c of commits) if (c.yjs) yjsPayloads.push(c.yjs)
    const tilesList = tilesPayloads(commits)
    let tiles: Group | null = null
    let yjs: Group | null = null
    let yjsCursor: Group | null = null
    const sendTo = (conn: RoomConn, group: Group) => conn.sendFramed(group.framed, group.payloads)
    for (const conn of deps.sockets.all()) {
      if (conn.live === LiveMode.Tiles) {
        if (tilesList.length === 0) continue
        tiles ??= groupOf(tilesList)
        sendTo(conn, tiles)
      } else if (yjsPayloads.length > 0) {
        if (conn.cursors) {
          yjsCursor ??= groupOf([...yjsPayloads, encodeTiles(last.docSeq + 1, [])])
          sendTo(conn, yjsCursor)
        } else {
          yjs ??= groupOf(yjsPayloads)
          sendTo(conn, yjs)
        }
      }
    }
    // Cached sync answers follow the board: these commits, as these sockets received them.
    if (deps.answers.size() > 0) deps.answers.commit({ yjs: yjsPayloads, tiles: tilesList })
    sent = last.docSeq
    if (!corked) spaceAfter(clock() - started)
  }

  const schedule = () => {
    if (timer) return
    timer = setTimeout(() => broadcast(), Math.max(0, Math.ceil(dueAt - clock())))
  }

  return {
    committed: (c) => {
      waiting.push(c)
      if (clock() >= dueAt) {
        broadcast(true)
        return true
      }
      schedule()
      return false
    },
    sent: spaceAfter,
    flush: () => broadcast(),
    sentSeq: () => sent,
    waiting: () => waiting.length,
    close: () => {
      if (timer) clearTimeout(timer)
      timer = null
    },
  }
}
