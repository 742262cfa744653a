/**
 * In-process replay (run with --expose-gc): opens the relay's real room (relay/room.ts) on a real
 * LevelDB data directory and feeds it placements through room.place() with synthetic placers,
 * so that gc() + process.memoryUsage() measure the relay's own data structures without network
 * cost. Time is simulated: the room's clock advances 72 h / 16.5 M per placement, and the room's
 * 60-second cooldown sweep (a real-time interval) is run every 20,000 placements, as often as it
 * would run at r/place's 333 placements/s.
 */
import { join } from 'node:path'
import { createLog } from '../node-kit/log.ts'
import { DEFAULT_COMPACTION } from '../relay/compaction.ts'
import { openHistoryStore } from '../relay/history-store.ts'
import { openRoom, type Room } from '../relay/room.ts'
import { type BoardConfig, DEFAULT_BOARD } from '../shared/board.ts'
import { serveChild } from './helpers/child.ts'
import { createPlaceGenerator, createRandom, R_PLACE_2017 } from './helpers/place-generator.ts'

const gc = (globalThis as { gc?: () => void }).gc

export type MemSample = { placements: number; heapUsedMb: number; externalMb: number; rssMb: number; seconds: number }

const sample = (placements: number, t0: number): MemSample => {
  if (!gc) throw new Error('run with --expose-gc')
  gc()
  gc()
  const m = process.memoryUsage()
  return {
    placements,
    heapUsedMb: m.heapUsed / 2 ** 20,
    externalMb: m.external / 2 ** 20,
    rssMb: m.rss / 2 ** 20,
    seconds: (performance.now() - t0) / 1000,
  }
}

/** Opens the room as relay.ts does, capturing its real-time sweep so that simulated time drives it. */
const open = async (dir: string, board: BoardConfig, now: () => number) => {
  const history = await openHistoryStore(join(dir, 'history'), { sync: false })
  const sweeps: Array<() => void> = []
  const realSetInterval = globalThis.setInterval
  globalThis.setInterval = ((fn: () => void, ms: number) => {
    if (ms === 60_000) sweeps.push(fn)
    return realSetInterval(() => {}, 1 << 30)
  }) as typeof setInterval
  let room: Room
  try {
    room = await openRoom({
      board,
      history,
      log: createLog('')('room'),
      tickMs: 0,
      perIpCooldown: false,
      compaction: DEFAULT_COMPACTION,
      now,
    })
  } finally {
    globalThis.setInterval = realSetInterval
  }
  return {
    room,
    sweep: () => {
      for (const s of sweeps) s()
    },
    close: async () => {
      await room.close()
      await history.close()
    },
  }
}

/** Feeds `count` placements in commits of `commitSize`; `at(i)` gives placement i. */
const feed = async (
  r: Awaited<ReturnType<typeof open>>,
  count: number,
  commitSize: number,
  at: (i: number) => { x: number; y: number; color: number; user: number },
  checkpoint: (done: number) => void,
  checkpointEvery: number,
  tick: () => void,
) => {
  let rejected = 0
  const errors: Record<string, number> = {}
  for (let i = 0; i < count; ) {
    const end = Math.min(count, i + commitSize)
    const waits: Promise<{ ok: boolean; error?: string }>[] = []
    for (; i < end; i++) {
      const p = at(i)
      tick()
      waits.push(r.room.place({ x: p.x, y: p.y, color: p.color }, { user: `u${p.user}`, ip: '10.0.0.1', isAdmin: false }))
      if ((i + 1) % 20_000 === 0) r.sweep()
    }
    for (const res of await Promise.all(waits)) {
      if (!res.ok) {
        rejected++
        errors[res.error ?? '?'] = (errors[res.error ?? '?'] ?? 0) + 1
      }
    }
    if (i % checkpointEvery === 0 || i === count) checkpoint(i)
  }
  return { rejected, errors }
}

const replay = async (args: { dir: string; placements: number; commitSize: number; checkpoints: number; seed: number }) => {
  const stepMs = R_PLACE_2017.durationMs / R_PLACE_2017.placements
  let clock = Date.now() - args.placements * stepMs - 60_000
  const board: BoardConfig = { ...DEFAULT_BOARD, cooldownMs: 5 * 60 * 1000 }
  const r = await open(args.dir, board, () => clock)
  const gen = createPlaceGenerator({ seed: args.seed, width: board.width, height: board.height })
  const t0 = performance.now()
  const samples: MemSample[] = [sample(0, t0)]
  const every = Math.ceil(args.placements / args.checkpoints / args.commitSize) * args.commitSize
  const res = await feed(
    r,
    args.placements,
    args.commitSize,
    (i) => ({ ...gen.next(), user: gen.userOf(i) }),
    (done) => {
      samples.push(sample(done, t0))
      process.stderr.write(
        `  replay: ${done.toLocaleString('en-US')} placements, heap ${samples[samples.length - 1]?.heapUsedMb.toFixed(1)} MB\n`,
      )
    },
    every,
    () => {
      clock += stepMs
    },
  )
  const seconds = (performance.now() - t0) / 1000
  await r.close()
  return { ...res, samples, seconds, placementsPerSecond: args.placements / seconds }
}

const paint = async (args: { dir: string; side: number; commitSize: number; seed: number }) => {
  let clock = Date.now() - 3_600_000
  const board: BoardConfig = { ...DEFAULT_BOARD, width: args.side, height: args.side, cooldownMs: 0 }
  const r = await open(args.dir, board, () => clock)
  const rand = createRandom(args.seed)
  const t0 = performance.now()
  const base = sample(0, t0)
  const total = args.side * args.side
  const res = await feed(
    r,
    total,
    args.commitSize,
    (i) => ({ x: i % args.side, y: Math.floor(i / args.side), color: 1 + Math.floor(rand() * 15), user: i % 100_000 }),
    (done) => {
      if (done % (1 << 21) === 0) process.stderr.write(`  paint: ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}\n`)
    },
    args.commitSize,
    () => {
      clock += 1
    },
  )
  const bitmap = r.room.bitmap()
  let unpainted = 0
  for (let i = 0; i < bitmap.length; i++) if (bitmap[i] === 0) unpainted++
  const painted = sample(total, t0)
  await r.close()
  return { ...res, base, painted, unpainted, seconds: painted.seconds }
}

serveChild({ replay, paint })
