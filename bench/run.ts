/**
 * Runs the benchmarks against real relay processes on loopback and prints one table.
 *
 *   npm run bench                 every figure, medians of 3 runs (about 15 minutes on 2 cores)
 *   npm run bench -- --quick      one run of each at small sizes: a smoke test (under 2 minutes)
 *   npm run bench -- --replay     the long figures: 16.5 M placement replay, 4096x4096 board
 *       --placements=N            scale the replay to N placements (the table says what ran)
 *   --only=ingest,fanout,...      run a subset (ingest, fanout, latency, yardstick, sockets, catchup, flood, rollback, replay, png, client, edges, edge-capacity)
 *                                 (yardstick's ratios to Tessera need fanout and latency in the same run: '-' otherwise)
 *   --reps=N                      repetitions of each repeated figure (default 3)
 *   --profile                     every relay process writes a CPU profile to bench/results/profiles/
 *                                 (summarise one with: npx tsx bench/profile-summary.ts <file>)
 *
 * Results go to bench/results/<timestamp>.json (not committed). Figures and their targets are
 * described in docs/PERFORMANCE.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, freemem, loadavg, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { runCatchUp } from './catch-up.ts'
import { runClientStart } from './client-start.ts'
import { runEdgeCapacity } from './edge-capacity.ts'
import { runEdges } from './edges.ts'
import { runFanout } from './fanout.ts'
import { runFlood } from './flood.ts'
import { median } from './helpers/stats.ts'
import { type FigureOptions, type Row, verdict } from './helpers/table.ts'
import { measureIngest } from './ingest.ts'
import { runLatency } from './latency.ts'
import { measureNaive, naiveSizes } from './naive-relay.ts'
import { runReplay } from './replay.ts'
import { runRollbackLatency } from './rollback-latency.ts'
import { runSockets } from './sockets.ts'
import { runYardstick } from './yardstick.ts'
import { yardstickRan, yardstickRatioRows } from './yardstick-ratios.ts'

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(`--${name}`)
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const quick = flag('quick')
const replayMode = flag('replay')
const placements = option('placements') ? Number(option('placements')) : undefined
const only = option('only')?.split(',')
const reps = quick || replayMode ? 1 : Number(option('reps') ?? 3)
const opts: FigureOptions = { quick }
if (flag('profile')) {
  process.env.BENCH_PROFILE_DIR = fileURLToPath(new URL('./results/profiles/', import.meta.url))
  mkdirSync(process.env.BENCH_PROFILE_DIR, { recursive: true })
}

/** Ours and the naive relay, side by side in one repetition, and their ratio. */
const runComparison = async (o: FigureOptions): Promise<Row[]> => {
  const identities = o.quick ? 2_000 : 10_000
  const ours = await measureIngest({ identities, perWave: 1_000, perSocket: o.quick ? 20 : 40, window: 8, generators: 2 })
  const sizes = naiveSizes(o)
  const naive = await measureNaive({ mode: 'apply-only', clients: sizes.clients, perClient: sizes.perClient })
  const naiveCast = await measureNaive({
    mode: 'broadcast',
    clients: sizes.clients,
    perClient: sizes.broadcastPerClient,
    measureUpdates: sizes.broadcastMeasure,
  })
  return [
    {
      key: 'ingest',
      figure: `validated placements/s ingested (${identities.toLocaleString('en-US')} identities, cooldown 0)`,
      value: ours.rate,
      unit: '/s',
      target: { op: '>=', value: 50_000 },
      details: ours,
    },
    {
      key: 'naive-apply',
      figure: 'naive relay, 1,000 Y.Map writers: updates/s applied (no fan-out)',
      value: naive.rate,
      unit: '/s',
      details: naive,
    },
    {
      key: 'naive-broadcast',
      figure: 'naive relay, 1,000 Y.Map writers: updates/s with y-websocket fan-out',
      value: naiveCast.rate,
      unit: '/s',
      details: naiveCast,
    },
    {
      key: 'ratio-apply',
      figure: 'ingest vs naive relay (no fan-out), same run',
      value: ours.rate / naive.rate,
      unit: 'x',
      digits: 1,
      target: { op: '>=', value: 20 },
    },
    {
      key: 'ratio-broadcast',
      figure: 'ingest vs naive relay (with fan-out), same run',
      value: ours.rate / naiveCast.rate,
      unit: 'x',
      digits: 0,
    },
  ]
}

/** The issue's snapshot targets for the default encoder on realistic boards: CPU ms and bytes (KB = 1,000 B). */
const PNG_TARGETS: Record<number, { ms: number; kb: number }> = { 1000: { ms: 20, kb: 110 }, 2000: { ms: 70, kb: 450 } }

const runPng = async (o: FigureOptions): Promise<Row[]> => {
  const mod = await import('./png-encoders.ts').catch(() => null)
  if (!mod) return []
  return mod.runPngBench({ quick: o.quick }).flatMap((r): Row[] => {
    const targets = r.encoder === mod.DEFAULT_ENCODER && r.kind === 'realistic' ? PNG_TARGETS[r.side] : undefined
    const time: Row = {
      key: `png-${r.encoder}-${r.board}`,
      figure: `snapshot encode ${r.board}: ${r.encoder}${targets ? ', the default' : ''} (${Math.round(r.bytes / 1024).toLocaleString('en-US')} KiB${r.exact ? '' : ', NOT exact'})`,
      value: r.ms,
      unit: 'ms',
      digits: 1,
      details: r,
      ...(targets ? { target: { op: '<=', value: targets.ms } } : {}),
    }
    if (!targets) return [time]
    const size: Row = {
      key: `png-size-${r.board}`,
      figure: `snapshot size ${r.board}: the default encoder${r.exact ? '' : ', NOT exact'}`,
      value: r.bytes / 1000,
      unit: 'KB',
      digits: 1,
      target: { op: '<=', value: targets.kb },
    }
    return [time, size]
  })
}

const figures: { name: string; run: (o: FigureOptions) => Promise<Row[]>; repeat: boolean }[] = replayMode
  ? [{ name: 'replay', run: (o) => runReplay({ ...o, replay: true, placements }), repeat: false }]
  : [
      { name: 'ingest', run: runComparison, repeat: true },
      { name: 'fanout', run: runFanout, repeat: true },
      { name: 'latency', run: runLatency, repeat: true },
      // The in-memory limit (issue 15); its ratios to fanout and latency are added after the loop.
      { name: 'yardstick', run: runYardstick, repeat: true },
      { name: 'sockets', run: runSockets, repeat: true },
      { name: 'catchup', run: runCatchUp, repeat: true },
      { name: 'flood', run: runFlood, repeat: true },
      // One run: a 250,000-tile fill and its rollback take about a minute.
      { name: 'rollback', run: runRollbackLatency, repeat: false },
      { name: 'png', run: runPng, repeat: false },
      // One run: builds two clients and drives Chromium through about 80 page loads, its figures
      // medians of five page loads each (about 3.5 minutes).
      { name: 'client', run: runClientStart, repeat: false },
      { name: 'replay', run: (o) => runReplay({ ...o, replay: false }), repeat: false },
      // Scaling out (issue 16): a writer, two edges and nats-server, against one relay.
      { name: 'edges', run: runEdges, repeat: true },
      // One run: up to 54,000 viewer sockets across three edges, added in steps (several minutes).
      { name: 'edge-capacity', run: runEdgeCapacity, repeat: false },
    ]

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  memoryGb: +(totalmem() / 2 ** 30).toFixed(1),
  freeMemoryGb: +(freemem() / 2 ** 30).toFixed(1),
  loadAverageAtStart: loadavg().map((l) => +l.toFixed(2)),
  date: new Date().toISOString(),
}

const started = performance.now()
const collected = new Map<string, { row: Row; values: number[]; details: unknown[] }>()
for (const fig of figures) {
  if (only && !only.includes(fig.name)) continue
  const n = fig.repeat ? reps : 1
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    process.stderr.write(`bench: ${fig.name} (run ${i + 1} of ${n})...\n`)
    let rows: Row[]
    try {
      rows = await fig.run(opts)
    } catch (err) {
      process.stderr.write(`bench: ${fig.name} failed: ${(err as Error).stack}\n`)
      rows = [
        {
          key: `${fig.name}-failed`,
          figure: `${fig.name}: FAILED (${(err as Error).message.split('\n')[0]})`,
          value: Number.NaN,
          unit: '',
        },
      ]
    }
    for (const row of rows) {
      const c = collected.get(row.key) ?? { row, values: [], details: [] }
      c.values.push(row.value)
      if (row.details) c.details.push(row.details)
      collected.set(row.key, c)
      process.stderr.write(`  ${row.figure}: ${row.value.toFixed(row.digits ?? 0)} ${row.unit}\n`)
    }
    process.stderr.write(`bench: ${fig.name} took ${((performance.now() - t) / 1000).toFixed(1)} s\n`)
  }
}

// Ratios of the same invocation's figures, once every repetition has run.
if (yardstickRan(collected))
  for (const row of yardstickRatioRows(collected))
    collected.set(row.key, { row, values: [row.value], details: row.details ? [row.details] : [] })

const fmtValue = (v: number, digits: number) =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a'
const table = [...collected.values()].map(({ row, values }) => {
  const value = median(values)
  const digits = row.digits ?? 0
  return {
    figure: row.figure,
    measured:
      !Number.isFinite(value) && row.missing !== undefined
        ? row.missing
        : `${fmtValue(value, digits)}${row.unit && row.unit !== 'x' ? ` ${row.unit}` : row.unit}`,
    target: row.target
      ? `${row.target.op} ${row.target.value.toLocaleString('en-US')}${row.unit === 'x' ? 'x' : row.unit ? ` ${row.unit}` : ''}`
      : 'report',
    result: verdict({ value, target: row.target }) || '-',
    runs: values.length,
    value,
  }
})
const widths = ['figure', 'measured', 'target', 'result'].map((k) =>
  Math.max(k.length, ...table.map((r) => String(r[k as keyof typeof r]).length)),
)
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
const out = [
  line(['figure', 'measured', 'target', 'result']),
  line(widths.map((w) => '-'.repeat(w))),
  ...table.map((r) => line([r.figure, r.measured, r.target, r.result])),
].join('\n')
const seconds = (performance.now() - started) / 1000
console.log(
  `\nTessera bench (${quick ? 'quick' : replayMode ? 'replay' : `full, medians of ${reps}`}) on ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}, ${machine.date}`,
)
console.log(out)
console.log(`(${seconds.toFixed(0)} s)`)

const dir = fileURLToPath(new URL('./results/', import.meta.url))
mkdirSync(dir, { recursive: true })
const file = `${dir}${machine.date.replace(/[:.]/g, '-')}${quick ? '-quick' : replayMode ? '-replay' : ''}.json`
writeFileSync(
  file,
  `${JSON.stringify({ machine, mode: quick ? 'quick' : replayMode ? 'replay' : 'full', reps, seconds, table, figures: [...collected.values()].map(({ row, values, details }) => ({ key: row.key, figure: row.figure, unit: row.unit, target: row.target, values, median: median(values), details })) }, null, 1)}\n`,
)
console.log(`results: ${file}`)
