/**
 * Validated placements/s ingested from >= 10,000 distinct identities, cooldown 0.
 *
 * A socket carries one identity, and every socket on a board also receives every broadcast; so
 * the identities are used in waves of 1,000 sockets (1,000 connected at a time, as in the naive
 * comparison): each wave connects (not timed), then every socket sends its placements with a
 * window of unanswered ones, and the wave's time runs from its first send to its last answer.
 * Figure = all accepted placements / the sum of wave times. Placements come from the
 * r/place-shaped generator; the load is split over two generator processes.
 */
import { startChild } from './helpers/child.ts'
import { mintTokens, spawnRelay } from './helpers/relay-process.ts'
import type { RunResult } from './load/placers.ts'

export const measureIngest = async (opts: {
  identities: number
  perWave: number
  perSocket: number
  window: number
  generators: number
  nodeArgs?: string[]
}) => {
  const relay = await spawnRelay({ nodeArgs: opts.nodeArgs })
  const gens = await Promise.all(Array.from({ length: opts.generators }, () => startChild('load/placers.ts')))
  try {
    const tokens = await mintTokens(relay.url, opts.identities)
    let ok = 0
    let rejected = 0
    let unanswered = 0
    let seconds = 0
    let relayCpu = 0
    let genCpu = 0
    const errors: Record<string, number> = {}
    const waveRates: number[] = []
    for (let w = 0; w * opts.perWave < tokens.length; w++) {
      const wave = tokens.slice(w * opts.perWave, (w + 1) * opts.perWave)
      const share = Math.ceil(wave.length / gens.length)
      await Promise.all(gens.map((g, i) => g.call('open', { port: relay.port, tokens: wave.slice(i * share, (i + 1) * share) })))
      const cpu0 = relay.cpuMs()
      const results = await Promise.all(
        gens.map((g, i) =>
          g.call<RunResult>('run', { perSocket: opts.perSocket, window: opts.window, seed: 1000 * w + i, width: 1000, height: 1000 }),
        ),
      )
      relayCpu += relay.cpuMs() - cpu0
      const start = Math.min(...results.map((r) => r.firstSend))
      const end = Math.max(...results.map((r) => r.lastAck))
      seconds += (end - start) / 1000
      waveRates.push(Math.round(results.reduce((n, r) => n + r.ok, 0) / ((end - start) / 1000)))
      for (const r of results) {
        ok += r.ok
        rejected += r.rejected
        unanswered += r.unanswered
        genCpu += r.cpuMs
        for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
      }
      await Promise.all(gens.map((g) => g.call('closeAll')))
      // Let the relay notice the closes before the next wave connects.
      await new Promise((r) => setTimeout(r, 300))
    }
    return {
      rate: ok / seconds,
      ok,
      rejected,
      unanswered,
      errors,
      waveRates,
      seconds,
      relayCpuShare: relayCpu / 1000 / seconds,
      generatorCpuShare: genCpu / 1000 / seconds,
    }
  } finally {
    await Promise.all(gens.map((g) => g.stop()))
    await relay.stop()
  }
}
