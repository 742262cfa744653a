/**
 * Scaling out (issue 16): one writer relay and two edge relays over a real nats-server with
 * JetStream, all on this machine, against one relay alone with the same load.
 *
 * - Writer ingest: 100 placer identities on the writer's own sockets place as fast as it
 *   answers (as bench/fanout.ts), while 1,000 live=tiles viewers watch: on the two edges (500
 *   each), or all on the single relay. The ratio is what moving fan-out off the writer buys.
 * - Deliveries/s through the edges at that load: placements x viewers that received them all,
 *   over the time from the first send to the last arrival at an edge viewer.
 * - Place-to-visible latency through an edge at 1,000 placements/s (as bench/latency.ts): 50
 *   placers on edge 1 (their placements forwarded to the writer), 1,000 viewers on both edges;
 *   and the same load on the single relay. The difference is what the NATS hops add. Each
 *   edge's viewers are held by a generator of their own, which matches its viewers' frames with
 *   its own reference socket: each edge frames its commits its own way. (Until 2026-12-03 one
 *   generator held both edges' viewers, matched them with one edge's frames, and so reported
 *   latencies of which about half were negative: those through-edge figures were wrong.)
 *
 * Every process shares the same 2 cores: the writer, both edges, nats-server and the load
 * generators. CPU shares are reported per process so that "where the time goes" can be read.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LiveMode } from '../shared/protocol.ts'
import { startNats } from '../test/helpers/nats-server.ts'
import { settleEach } from './fanout.ts'
import { type Child, procCpuMs, startChild } from './helpers/child.ts'
import { mintTokens, type RelayProcess, spawnRelay } from './helpers/relay-process.ts'
import type { FigureOptions, Row } from './helpers/table.ts'

type Topology = { writer: RelayProcess; edges: RelayProcess[]; natsPid: number | null; stop: () => Promise<void> }

/** One relay alone (edges: none), or a writer and two edges over a fresh nats-server. */
const startTopology = async (scaled: boolean): Promise<Topology> => {
  if (!scaled) {
    const writer = await spawnRelay()
    return { writer, edges: [], natsPid: null, stop: () => writer.stop() }
  }
  const nats = await startNats()
  const writer = await spawnRelay({ env: { NATS_URL: nats.url, RELAY_ROLE: 'writer' } })
  const secret = readFileSync(join(writer.dataDir, 'secret'), 'utf8').trim()
  const edges = [
    await spawnRelay({ env: { NATS_URL: nats.url, RELAY_ROLE: 'edge', RELAY_SECRET: secret } }),
    await spawnRelay({ env: { NATS_URL: nats.url, RELAY_ROLE: 'edge', RELAY_SECRET: secret } }),
  ]
  return {
    writer,
    edges,
    natsPid: nats.pid(),
    stop: async () => {
      for (const e of edges) await e.stop()
      await writer.stop()
      await nats.remove()
    },
  }
}

/** CPU ms of each process so far: writer, edges, nats-server. */
const cpuOf = (t: Topology) => ({
  writer: t.writer.cpuMs(),
  edges: t.edges.map((e) => e.cpuMs()),
  nats: t.natsPid === null ? 0 : procCpuMs(t.natsPid),
})

const shares = (t: Topology, before: ReturnType<typeof cpuOf>, seconds: number) => {
  const after = cpuOf(t)
  const share = (ms: number) => +(ms / 1000 / seconds).toFixed(2)
  return {
    writer: share(after.writer - before.writer),
    edges: after.edges.map((ms, i) => share(ms - (before.edges[i] ?? 0))),
    nats: share(after.nats - before.nats),
  }
}

/** Viewers split across the edges (or all on the single relay), placers on `placeOn`. */
const withLoad = async <T>(
  t: Topology,
  opts: { viewers: number; placers: number; placeOn: RelayProcess },
  fn: (viewers: Child[], placers: Child) => Promise<T>,
): Promise<T> => {
  // One generator per relay that viewers watch: each matches its viewers' frames with its own
  // reference socket, and every edge frames its commits its own way.
  const hosts = t.edges.length > 0 ? t.edges : [t.writer]
  const viewers = await Promise.all(hosts.map(() => startChild('load/viewers.ts')))
  const placers = await startChild('load/placers.ts')
  try {
    if (opts.viewers > 0)
      await Promise.all(
        hosts.map((h, i) => (viewers[i] as Child).call('open', { port: h.port, n: opts.viewers / hosts.length, live: LiveMode.Tiles })),
      )
    const tokens = await mintTokens(opts.placeOn.url, opts.placers)
    await placers.call('open', { port: opts.placeOn.port, tokens, live: LiveMode.Tiles })
    return await fn(viewers, placers)
  } finally {
    await Promise.all([...viewers.map((v) => v.stop()), placers.stop()])
  }
}

const measureIngest = async (scaled: boolean, perSocket: number, viewerCount = 1_000) => {
  const t = await startTopology(scaled)
  try {
    return await withLoad(t, { viewers: viewerCount, placers: 100, placeOn: t.writer }, async (viewers, placers) => {
      await placers.call('run', { perSocket: 20, window: 16, seed: 99, width: 1000, height: 1000 })
      if (viewerCount > 0) await settleEach(viewers, 30_000)
      await Promise.all(viewers.map((v) => v.call('reset', { recordArrivals: false })))
      const before = cpuOf(t)
      const run = await placers.call<{ ok: number; rejected: number; errors: Record<string, number>; firstSend: number; lastAck: number }>(
        'run',
        {
          perSocket,
          window: 16,
          seed: 5,
          width: 1000,
          height: 1000,
        },
      )
      const ingestSeconds = (run.lastAck - run.firstSend) / 1000
      const cpu = shares(t, before, ingestSeconds)
      if (viewerCount === 0) return { ingestPerSecond: run.ok / ingestSeconds, placements: run.ok, rejected: run.rejected, cpu }
      const all = await settleEach(viewers, 60_000)
      const deliverSeconds = (Math.max(...all.map((s) => s.lastArrival)) - run.firstSend) / 1000
      const complete = all.every((s) => s.minFrames > 0) ? all.reduce((n, s) => n + s.viewers, 0) : Number.NaN
      return {
        ingestPerSecond: run.ok / ingestSeconds,
        deliveriesPerSecond: (run.ok * complete) / deliverSeconds,
        placements: run.ok,
        rejected: run.rejected,
        errors: run.errors,
        ingestSeconds,
        deliverSeconds,
        cpu,
      }
    })
  } finally {
    await t.stop()
  }
}

type Latency = { p50: number; p99: number; samples: number; placementsSeen: number; negatives: number }

/** Ms from a placement's send to its answer, one identity placing one at a time (mean of `n`). */
const answerMs = async (relay: RelayProcess, n: number): Promise<number> => {
  const one = await startChild('load/placers.ts')
  try {
    await one.call('open', { port: relay.port, tokens: await mintTokens(relay.url, 1), live: LiveMode.Tiles })
    const r = await one.call<{ ok: number; firstSend: number; lastAck: number }>('run', {
      perSocket: n,
      window: 1,
      seed: 7,
      width: 1000,
      height: 1000,
    })
    return (r.lastAck - r.firstSend) / r.ok
  } finally {
    await one.stop()
  }
}

const measureLatency = async (scaled: boolean, durationMs: number) => {
  const t = await startTopology(scaled)
  try {
    const placeOn = t.edges[0] ?? t.writer
    // Before the load: what the way through an edge adds to one placement's answer (the NATS
    // request to the writer, and the edge applying the commit before it answers).
    const answer = { direct: await answerMs(t.writer, 300), viaEdge: t.edges[0] ? await answerMs(t.edges[0], 300) : Number.NaN }
    return await withLoad(t, { viewers: 1_000, placers: 50, placeOn }, async (viewers, placers) => {
      await placers.call('pace', { rate: 1_000, durationMs: 1_000, width: 1000, height: 1000, offset: 500_000 })
      await settleEach(viewers, 30_000)
      await Promise.all(viewers.map((v) => v.call('reset', { recordArrivals: true })))
      const before = cpuOf(t)
      const paced = await placers.call<{ sent: number[]; ok: number; rejected: number }>('pace', {
        rate: 1_000,
        durationMs,
        width: 1000,
        height: 1000,
        offset: 0,
      })
      const cpu = shares(t, before, durationMs / 1000)
      await settleEach(viewers, 30_000)
      const perRelay = await Promise.all(viewers.map((v) => v.call<Latency>('latency', { sent: paced.sent })))
      // Each relay's viewers are half of them: the whole set's p50 lies between the two relays'
      // (their mean is given), its p99 is at most the larger.
      const p50 = perRelay.reduce((a, l) => a + l.p50, 0) / perRelay.length
      const p99 = Math.max(...perRelay.map((l) => l.p99))
      return { p50, p99, perRelay, ok: paced.ok, rejected: paced.rejected, cpu, answer }
    })
  } finally {
    await t.stop()
  }
}

export const runEdges = async ({ quick }: FigureOptions): Promise<Row[]> => {
  const perSocket = quick ? 200 : 500
  // Interleaved: the machine's other load drifts, so each pair runs back to back.
  const single = await measureIngest(false, perSocket)
  const scaled = await measureIngest(true, perSocket)
  // No viewers at all: what publishing every commit costs the writer by itself.
  const bareSingle = await measureIngest(false, perSocket, 0)
  const bareScaled = await measureIngest(true, perSocket, 0)
  const latencySingle = await measureLatency(false, quick ? 4_000 : 10_000)
  const latencyEdge = await measureLatency(true, quick ? 4_000 : 10_000)
  return [
    {
      key: 'edges-ingest',
      figure: `writer ingest with 1,000 viewers on 2 edges (CPU: writer ${scaled.cpu.writer}, edges ${scaled.cpu.edges.join(' + ')}, nats ${scaled.cpu.nats}; ${scaled.rejected} refused)`,
      value: scaled.ingestPerSecond,
      unit: '/s',
      details: scaled,
    },
    {
      key: 'edges-ingest-single',
      figure: `single relay ingest with the same 1,000 viewers (CPU: relay ${single.cpu.writer})`,
      value: single.ingestPerSecond,
      unit: '/s',
      details: single,
    },
    {
      key: 'edges-ingest-ratio',
      figure: 'writer ingest with viewers on edges vs single relay, same run',
      value: scaled.ingestPerSecond / single.ingestPerSecond,
      unit: 'x',
      digits: 2,
      target: { op: '>=', value: 1.5 },
    },
    {
      key: 'edges-ingest-bare',
      figure: `writer ingest, no viewers, publishing to NATS (CPU: writer ${bareScaled.cpu.writer}, edges ${bareScaled.cpu.edges.join(' + ')}, nats ${bareScaled.cpu.nats})`,
      value: bareScaled.ingestPerSecond,
      unit: '/s',
      details: bareScaled,
    },
    {
      key: 'edges-ingest-bare-single',
      figure: `single relay ingest, no viewers, no NATS (CPU: relay ${bareSingle.cpu.writer})`,
      value: bareSingle.ingestPerSecond,
      unit: '/s',
      details: bareSingle,
    },
    {
      key: 'edges-deliveries',
      figure: 'placement deliveries/s to 1,000 viewers through 2 edges (saturated)',
      value: scaled.deliveriesPerSecond ?? Number.NaN,
      unit: '/s',
    },
    {
      key: 'edges-latency-p50',
      figure: `place-to-visible p50 through an edge, 1,000 viewers x 1,000 placements/s (mean of the 2 edges' p50s; ${latencyEdge.rejected} refused)`,
      value: latencyEdge.p50,
      unit: 'ms',
      digits: 1,
      details: latencyEdge,
    },
    {
      key: 'edges-latency-p99',
      figure: "place-to-visible p99 through an edge, same load (the larger of the 2 edges' p99s)",
      value: latencyEdge.p99,
      unit: 'ms',
      digits: 1,
      target: { op: '<=', value: 50 },
    },
    {
      key: 'edges-latency-single-p50',
      figure: 'the same load on a single relay: p50',
      value: latencySingle.p50,
      unit: 'ms',
      digits: 1,
      details: latencySingle,
    },
    { key: 'edges-latency-single-p99', figure: 'the same load on a single relay: p99', value: latencySingle.p99, unit: 'ms', digits: 1 },
    {
      key: 'edges-answer-direct',
      figure: 'one placement at a time, send to answer, on the writer (mean of 300, no other load)',
      value: latencyEdge.answer.direct,
      unit: 'ms',
      digits: 2,
    },
    {
      key: 'edges-answer-edge',
      figure: 'the same through an edge (NATS request/reply, then the edge applies the commit)',
      value: latencyEdge.answer.viaEdge,
      unit: 'ms',
      digits: 2,
    },
  ]
}
