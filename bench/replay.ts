/**
 * The long figures: relay heap after replaying r/place 2017's 16.5 M placements (and its growth
 * over the last 5 M), LevelDB size on disk, restart time with that data, and the heap of a fully
 * painted 4096x4096 board. The replay runs in a child process (bench/replay-child.ts) that drives
 * relay/room.ts directly; the restart runs the real relay process on the replay's data directory.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requestStep2 } from './catch-up.ts'
import { startChild } from './helpers/child.ts'
import { spawnRelay } from './helpers/relay-process.ts'
import { fmt } from './helpers/stats.ts'
import type { FigureOptions, Row } from './helpers/table.ts'
import type { MemSample } from './replay-child.ts'

const duBytes = (dir: string): number => {
  let total = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    total += e.isDirectory() ? duBytes(p) : statSync(p).size
  }
  return total
}

const mb = (s: MemSample) => s.heapUsedMb + s.externalMb

/** Spawn-to-health time of a relay process on `dataDir`, and to its first full sync answer. */
const restart = async (dataDir: string | undefined) => {
  const t0 = performance.now()
  const relay = await spawnRelay({ dataDir, env: { BOARD_COOLDOWN_MS: '300000' }, timeoutMs: 600_000 })
  const healthMs = performance.now() - t0
  const full = await requestStep2(relay.port, new Uint8Array([0]))
  const servingMs = performance.now() - t0
  const rssMb = relay.rssKb() / 1024
  await relay.stop()
  return { healthMs, servingMs, fullStateBytes: full.frameBytes, rssMb }
}

export const measureReplay = async (opts: { placements: number; commitSize: number; checkpoints: number; paintSide: number }) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-replay-'))
  const paintDir = mkdtempSync(join(tmpdir(), 'tessera-paint-'))
  // The replay runs the relay's own code in this child: `--profile` profiles it like a relay.
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE_DIR] : []
  const child = await startChild('replay-child.ts', { nodeArgs: ['--expose-gc', ...profile] })
  try {
    const replay = await child.call<{
      samples: MemSample[]
      seconds: number
      placementsPerSecond: number
      rejected: number
      errors: Record<string, number>
    }>('replay', { dir, placements: opts.placements, commitSize: opts.commitSize, checkpoints: opts.checkpoints, seed: 2017 })
    const last = replay.samples[replay.samples.length - 1] as MemSample
    // Growth over the last 5 M placements (or the last 30% of a scaled run).
    const window = Math.min(5_000_000, Math.round(opts.placements * 0.3))
    const from = [...replay.samples].reverse().find((s) => s.placements <= last.placements - window) ?? (replay.samples[0] as MemSample)
    // The heap follows the document's compaction and epoch sawtooth, so one sample against
    // another depends on the phase: growth is the peak of the last window against the peak of
    // the window before it (same length).
    const peakOf = (lo: number, hi: number) =>
      Math.max(...replay.samples.filter((s) => s.placements > lo && s.placements <= hi).map(mb), Number.NEGATIVE_INFINITY)
    const lastPeak = peakOf(last.placements - window, last.placements)
    const previousPeak = peakOf(last.placements - 2 * window, last.placements - window)
    const diskBytes = duBytes(dir)
    // Three restarts: the first meets the data as the replay left it (the figure); the next two
    // show whether it was a one-off (page cache, a first start's own writes).
    const restarted = await restart(dir)
    const restartsAfter = [await restart(dir), await restart(dir)]
    const empty = await restart(undefined)
    const painted = await child.call<{ painted: MemSample; base: MemSample; seconds: number; unpainted: number }>('paint', {
      dir: paintDir,
      side: opts.paintSide,
      commitSize: 4096,
      seed: 4096,
    })
    return {
      placements: opts.placements,
      heapMb: mb(last),
      heapUsedMb: last.heapUsedMb,
      externalMb: last.externalMb,
      rssMb: last.rssMb,
      growthMb: lastPeak - previousPeak,
      lastPeakMb: lastPeak,
      previousPeakMb: previousPeak,
      endToEndMb: mb(last) - mb(from),
      growthWindow: last.placements - from.placements,
      samples: replay.samples,
      replaySeconds: replay.seconds,
      replayRate: replay.placementsPerSecond,
      rejected: replay.rejected,
      diskBytes,
      diskBytesPerPlacement: diskBytes / opts.placements,
      restart: restarted,
      restartsAfter,
      emptyRestart: empty,
      paint: {
        side: opts.paintSide,
        heapMb: mb(painted.painted),
        heapUsedMb: painted.painted.heapUsedMb,
        rssMb: painted.painted.rssMb,
        seconds: painted.seconds,
        unpainted: painted.unpainted,
      },
    }
  } finally {
    await child.stop()
    rmSync(dir, { recursive: true, force: true })
    rmSync(paintDir, { recursive: true, force: true })
  }
}

export const replaySizes = (opts: FigureOptions & { replay: boolean; placements?: number }) =>
  opts.replay
    ? { placements: opts.placements ?? 16_500_000, commitSize: 100, checkpoints: 33, paintSide: 4096 }
    : opts.quick
      ? { placements: 100_000, commitSize: 100, checkpoints: 4, paintSide: 256 }
      : { placements: 1_000_000, commitSize: 100, checkpoints: 10, paintSide: 1024 }

export const runReplay = async (opts: FigureOptions & { replay: boolean; placements?: number }): Promise<Row[]> => {
  const sizes = replaySizes(opts)
  const r = await measureReplay(sizes)
  const n = `${(r.placements / 1e6).toLocaleString('en-US')} M`
  const w = `${(r.growthWindow / 1e6).toLocaleString('en-US')} M`
  const side = `${r.paint.side}x${r.paint.side}`
  const full = r.placements >= 16_500_000
  return [
    {
      key: 'replay-heap',
      figure: `relay heap after replaying ${n} placements (heap + external; peak over the run ${fmt(Math.max(...r.samples.map(mb)), 1)} MB)`,
      value: r.heapMb,
      unit: 'MB',
      digits: 1,
      target: { op: '<=', value: 150 },
      details: r,
    },
    // "Flat" is read as under 10 MB over the last 5 M; a scaled run is too short to judge (the
    // compaction limit of 200,000 pending writes is reached only after about 200,000 placements).
    {
      key: 'replay-growth',
      figure: `relay heap growth over the last ${w} placements (peak vs the ${w} before: ${fmt(r.lastPeakMb, 1)} / ${fmt(r.previousPeakMb, 1)} MB)`,
      value: r.growthMb,
      unit: 'MB',
      digits: 1,
      ...(full ? { target: { op: '<=' as const, value: 10 } } : {}),
    },
    {
      key: 'paint-heap',
      figure: `relay heap with a fully painted ${side} board`,
      value: r.paint.heapMb,
      unit: 'MB',
      digits: 1,
      ...(r.paint.side >= 4096 ? { target: { op: '<=' as const, value: 300 } } : {}),
    },
    {
      key: 'disk-bpp',
      figure: `LevelDB on disk after ${n} placements, bytes per placement`,
      value: r.diskBytesPerPlacement,
      unit: 'B',
      digits: 1,
    },
    {
      key: 'restart',
      figure: `relay restart on that data: spawn to first full sync answer (then ${r.restartsAfter.map((x) => (x.servingMs / 1000).toFixed(2)).join(', ')} s)`,
      value: r.restart.servingMs / 1000,
      unit: 's',
      digits: 2,
      target: { op: '<=', value: 5 },
    },
  ]
}
