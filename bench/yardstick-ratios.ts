/**
 * Tessera's figures as ratios to the in-memory yardstick's (issue 15), from figures measured in
 * the same invocation of bench/run.ts: fan-out's placements/s (the live=tiles run) over the
 * yardstick's saturating rate at 50 ms broadcasts, and the latency p50/p99 (live=tiles) over the
 * yardstick's at 50 ms. Each ratio is of the two medians over the invocation's repetitions; a
 * ratio whose Tessera figure did not run in this invocation is '-' (never taken from elsewhere).
 */
import { median } from './helpers/stats.ts'
import type { Row } from './helpers/table.ts'

/** What the runner collected for one row key: a value and the details (if any) of each run. */
export type Collected = ReadonlyMap<string, { values: readonly number[]; details: readonly unknown[] }>

/** The yardstick's broadcast period the ratios are taken against, ms. */
const TICK_MS = 50

const medianOf = (collected: Collected, key: string): number => median(collected.get(key)?.values ?? [])

/** Whether any yardstick row was collected (the ratios are printed only then). */
export const yardstickRan = (collected: Collected): boolean => [...collected.keys()].some((k) => k.startsWith('yardstick-'))

export const yardstickRatioRows = (collected: Collected): Row[] => {
  const fanoutPlacements = median(
    (collected.get('fanout')?.details ?? []).map((d) => (d as { placementsPerSecond?: number }).placementsPerSecond ?? Number.NaN),
  )
  const yardstickRate = medianOf(collected, `yardstick-${TICK_MS}`)
  const ratio = (ours: number, theirs: number) => ours / theirs
  const p50 = ratio(medianOf(collected, 'latency-p50'), medianOf(collected, `yardstick-latency-${TICK_MS}-p50`))
  const p99 = ratio(medianOf(collected, 'latency-p99'), medianOf(collected, `yardstick-latency-${TICK_MS}-p99`))
  return [
    {
      key: 'yardstick-ratio-ingest',
      figure: `Tessera's placements/s to 1,000 viewers (fan-out, live=tiles) as a share of the yardstick's at ${TICK_MS} ms, same run`,
      value: 100 * ratio(fanoutPlacements, yardstickRate),
      unit: '%',
      digits: 1,
      target: { op: '>=', value: 15 },
      missing: '-',
      details: { fanoutPlacementsPerSecond: fanoutPlacements, yardstickPlacementsPerSecond: yardstickRate },
    },
    {
      key: 'yardstick-ratio-p50',
      figure: `Tessera's place-to-visible p50 over the yardstick's at ${TICK_MS} ms, same run`,
      value: p50,
      unit: 'x',
      digits: 2,
      missing: '-',
    },
    {
      key: 'yardstick-ratio-p99',
      figure: `Tessera's place-to-visible p99 over the yardstick's at ${TICK_MS} ms, same run`,
      value: p99,
      unit: 'x',
      digits: 2,
      missing: '-',
    },
  ]
}
