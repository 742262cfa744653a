/**
 * Viewer capacity across edge relays (issue 16): the most viewer sockets this machine holds
 * across edges while every placement is seen within 1 s (p99), at 100 placements a second.
 *
 * One writer and EDGES edge relays over a real nats-server, all on this machine. Each edge has
 * its own viewer generator (a child process holding live=tiles sockets to that edge only, from
 * its own loopback source address 127.0.0.x: every generator then has its own range of ephemeral
 * ports). One generator per edge, because the latency figure matches each viewer's frames with
 * its generator's reference socket, and edges frame their commits each their own way.
 *
 * Steps: viewers are added in steps (spread evenly over the edges) and at each step 50 placer
 * identities on the writer place 100 placements/s for a while; the step's p99 place-to-visible
 * is the largest of the generators' p99s (each over all its viewers and placements: an upper
 * bound of the whole set's). The figure is the last step whose p99 was within 1 s. Memory per
 * socket: the edges' resident memory over their idle memory, per socket held.
 *
 * This machine lets a process hold at most 20,000 file descriptors (a hard limit a session
 * cannot raise), so an edge or a generator holds at most PER_PROCESS sockets: EDGES x
 * PER_PROCESS bounds the largest step.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LiveMode } from '../shared/protocol.ts'
import { startNats } from '../test/helpers/nats-server.ts'
import { settleEach } from './fanout.ts'
import { type Child, startChild } from './helpers/child.ts'
import { mintTokens, type RelayProcess, spawnRelay } from './helpers/relay-process.ts'
import type { FigureOptions, Row } from './helpers/table.ts'

const EDGES = 3
/** Sockets one process holds at most here (20,000 descriptors, less files, pipes and NATS). */
const PER_PROCESS = 18_000
/** Placements a second during each step (the load). */
const RATE = 100
/** The p99 place-to-visible a step must keep, ms. */
const BUDGET_MS = 1_000

type Latency = { p50: number; p99: number; samples: number; placementsSeen: number }
type Step = {
  viewers: number
  held: number
  p50: number
  p99: number
  perGenerator: Latency[]
  edgeRssMb: number[]
  kbPerSocket: number
  /** Cores each process used during the step's paced placements (1 = a whole core). */
  cpu: { writer: number; edges: number[]; generators: number[]; placers: number }
}

export const measureEdgeCapacity = async (opts: { steps: number[]; paceMs: number }) => {
  const nats = await startNats()
  const heartbeat = { HEARTBEAT_MS: '5000' }
  const writer = await spawnRelay({ env: { NATS_URL: nats.url, RELAY_ROLE: 'writer', ...heartbeat } })
  const secret = readFileSync(join(writer.dataDir, 'secret'), 'utf8').trim()
  const edges: RelayProcess[] = []
  const gens: Child[] = []
  const placers = await startChild('load/placers.ts')
  const steps: Step[] = []
  try {
    for (let i = 0; i < EDGES; i++) {
      edges.push(await spawnRelay({ env: { NATS_URL: nats.url, RELAY_ROLE: 'edge', RELAY_SECRET: secret, ...heartbeat } }))
      gens.push(await startChild('load/viewers.ts'))
    }
    await placers.call('open', { port: writer.port, tokens: await mintTokens(writer.url, 50), live: LiveMode.Tiles })
    // The edges' idle memory, once they have followed a few placements (code loaded, JIT warm).
    await placers.call('pace', { rate: RATE, durationMs: 2_000, width: 1000, height: 1000, offset: 800_000 })
    const idleRssKb = edges.map((e) => e.rssKb())
    let opened = 0
    let offset = 0
    for (const target of opts.steps) {
      const perEdge = Math.ceil(target / EDGES)
      if (perEdge > PER_PROCESS) break
      const more = perEdge - opened
      await Promise.all(
        gens.map((g, i) =>
          g.call('open', { port: (edges[i] as RelayProcess).port, n: more, live: LiveMode.Tiles, localAddress: `127.0.0.${i + 2}` }),
        ),
      )
      opened = perEdge
      // Warm-up: every viewer has the step's first placements before the measured ones.
      await placers.call('pace', { rate: RATE, durationMs: 1_000, width: 1000, height: 1000, offset: 900_000 + offset })
      await settleEach(gens, 60_000)
      await Promise.all(gens.map((g) => g.call('reset', { recordArrivals: true })))
      const cpu0 = {
        writer: writer.cpuMs(),
        edges: edges.map((e) => e.cpuMs()),
        generators: gens.map((g) => g.cpuMs()),
        placers: placers.cpuMs(),
      }
      const paced = await placers.call<{ sent: number[]; ok: number }>('pace', {
        rate: RATE,
        durationMs: opts.paceMs,
        width: 1000,
        height: 1000,
        offset,
      })
      offset += paced.ok + 1
      const seconds = opts.paceMs / 1000
      const cpu = {
        writer: +((writer.cpuMs() - cpu0.writer) / 1000 / seconds).toFixed(2),
        edges: edges.map((e, i) => +((e.cpuMs() - (cpu0.edges[i] ?? 0)) / 1000 / seconds).toFixed(2)),
        generators: gens.map((g, i) => +((g.cpuMs() - (cpu0.generators[i] ?? 0)) / 1000 / seconds).toFixed(2)),
        placers: +((placers.cpuMs() - cpu0.placers) / 1000 / seconds).toFixed(2),
      }
      const stats = await settleEach(gens, 60_000)
      const perGenerator = await Promise.all(gens.map((g) => g.call<Latency>('latency', { sent: paced.sent })))
      const held = stats.reduce((n, s) => n + (s.minFrames > 0 ? s.viewers : 0), 0)
      const rss = edges.map((e) => e.rssKb())
      const step: Step = {
        viewers: perEdge * EDGES,
        held,
        p50: Math.max(...perGenerator.map((l) => l.p50)),
        p99: Math.max(...perGenerator.map((l) => l.p99)),
        perGenerator,
        edgeRssMb: rss.map((kb) => +(kb / 1024).toFixed(0)),
        kbPerSocket: +(rss.reduce((a, kb, i) => a + kb - (idleRssKb[i] ?? 0), 0) / (perEdge * EDGES)).toFixed(1),
        cpu,
      }
      steps.push(step)
      await Promise.all(gens.map((g) => g.call('reset', { recordArrivals: false })))
      if (step.p99 > BUDGET_MS || held < step.viewers) break
    }
  } finally {
    await Promise.all([...gens.map((g) => g.stop()), placers.stop()])
    for (const e of edges) await e.stop()
    await writer.stop()
    await nats.remove()
  }
  const within = steps.filter((s) => s.p99 <= BUDGET_MS && s.held === s.viewers)
  return { held: within[within.length - 1]?.viewers ?? 0, steps }
}

export const runEdgeCapacity = async ({ quick }: FigureOptions): Promise<Row[]> => {
  const steps = quick ? [1_500, 3_000] : [1_500, 3_000, 6_000, 10_000, 20_000, 30_000, 40_000, 50_000, 54_000]
  const r = await measureEdgeCapacity({ steps, paceMs: quick ? 3_000 : 10_000 })
  const best = r.steps.find((s) => s.viewers === r.held)
  return [
    {
      key: 'edges-capacity',
      figure: `viewer sockets held across ${EDGES} edges with every placement seen within 1 s (p99) at ${RATE} placements/s`,
      value: r.held,
      unit: '',
      target: { op: '>=', value: 50_000 },
      details: r,
    },
    {
      key: 'edges-capacity-memory',
      figure: `edge memory per viewer socket at ${r.held.toLocaleString('en-US')} sockets (RSS over idle)`,
      value: best?.kbPerSocket ?? Number.NaN,
      unit: 'KB',
      digits: 1,
    },
  ]
}
