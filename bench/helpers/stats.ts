/** Small statistics for benchmark figures. */

/** Median of finite values (NaN if none). */
export const median = (values: readonly number[]): number => {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (v.length === 0) return Number.NaN
  const mid = v.length >> 1
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2
}

/** A latency histogram with 0.1 ms buckets up to 60 s; percentiles to 0.1 ms. */
export const createHistogram = () => {
  const buckets = new Uint32Array(600_000)
  let count = 0
  let negatives = 0
  return {
    add: (ms: number, times = 1) => {
      if (ms < 0) negatives += times
      const i = Math.min(buckets.length - 1, Math.max(0, Math.round(ms * 10)))
      buckets[i] = (buckets[i] as number) + times
      count += times
    },
    count: () => count,
    negatives: () => negatives,
    percentile: (p: number): number => {
      const rank = Math.ceil((p / 100) * count)
      let seen = 0
      for (let i = 0; i < buckets.length; i++) {
        seen += buckets[i] as number
        if (seen >= rank && seen > 0) return i / 10
      }
      return Number.NaN
    },
  }
}

/** A clock shared by processes on one machine: ms since the Unix epoch with sub-ms resolution. */
export const wallMs = (): number => performance.timeOrigin + performance.now()

/** Formats a number with thousands separators and `digits` decimals. */
export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a'
