/**
 * A seeded generator of placements shaped like r/place 2017 (1000x1000, 16 colours, 16.5 M
 * placements by about 1.1 M people over 72 hours). Not a replay of the real data set: a model
 * with the properties that matter to the relay:
 *
 * - Hot spots: 75% of placements fall in ~400 "artworks", Gaussian blobs (sigma 2..40 tiles)
 *   whose popularity follows Zipf (s = 1.1); 2% of the artworks are replaced every 250 k
 *   placements, so activity drifts across the board over time. 25% fall uniformly (noise,
 *   griefing, people trying things).
 * - Colours: each artwork has 3 colours of its own used for 80% of its placements (art is
 *   mostly flat areas); everything else draws from a global mix in which white and black lead
 *   (weights below, approximating published 2017 tallies: white, black, red, blue most used).
 * - Users: 1.1 M identities; placement i is by user ((i mod 120000) * 7919 + 100000 *
 *   floor(i / 1.5 M)) mod 1.1 M, so a user returns every 120,000 placements (longer than a
 *   5-minute cooldown at r/place's 333/s) and about 1.1 M distinct users appear over 16.5 M.
 * - Time: placements are spread evenly over 72 hours (about 15.7 ms apart).
 */

/** sfc32: a small fast PRNG with a 128-bit state; deterministic for a seed. */
export const createRandom = (seed: number): (() => number) => {
  let a = 0x9e3779b9
  let b = 0x243f6a88
  let c = 0xb7e15162
  let d = seed >>> 0
  const next = () => {
    a >>>= 0
    b >>>= 0
    c >>>= 0
    d >>>= 0
    let t = (a + b) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    d = (d + 1) | 0
    t = (t + d) | 0
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  for (let i = 0; i < 15; i++) next()
  return next
}

/** Weights of the 16 colours of PLACE_2017_PALETTE in the global mix (sum 100). */
export const COLOR_WEIGHTS = [18, 5, 5, 14, 4, 9, 5, 3, 6, 4, 5, 3, 4, 8, 3, 4] as const

export const R_PLACE_2017 = { placements: 16_500_000, users: 1_100_000, durationMs: 72 * 3600 * 1000, width: 1000, height: 1000 }

type Spot = { cx: number; cy: number; sigma: number; colors: [number, number, number] }

export type Placement = { x: number; y: number; color: number }

export type PlaceGenerator = {
  /** The next placement (the returned object is reused: copy what you keep). */
  next: () => Placement
  /** Index of the user who makes placement i (0-based), in 0..users-1. */
  userOf: (i: number) => number
}

export const createPlaceGenerator = (opts: { seed: number; width: number; height: number }): PlaceGenerator => {
  const { width, height } = opts
  const rand = createRandom(opts.seed)
  const scale = Math.min(width, height) / 1000
  const colorCdf: number[] = []
  let acc = 0
  for (const w of COLOR_WEIGHTS) {
    acc += w
    colorCdf.push(acc / 100)
  }
  const globalColor = () => {
    const r = rand()
    for (let i = 0; i < colorCdf.length; i++) if (r < (colorCdf[i] as number)) return i
    return colorCdf.length - 1
  }
  const newSpot = (): Spot => ({
    cx: rand() * width,
    cy: rand() * height,
    sigma: (2 + 38 * rand() ** 2) * scale,
    colors: [globalColor(), globalColor(), globalColor()],
  })
  const SPOTS = 400
  const spots: Spot[] = Array.from({ length: SPOTS }, newSpot)
  const spotCdf: number[] = []
  let total = 0
  for (let i = 0; i < SPOTS; i++) {
    total += 1 / (i + 1) ** 1.1
    spotCdf.push(total)
  }
  for (let i = 0; i < SPOTS; i++) spotCdf[i] = (spotCdf[i] as number) / total
  const pickSpot = (): Spot => {
    const r = rand()
    let lo = 0
    let hi = SPOTS - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((spotCdf[mid] as number) < r) lo = mid + 1
      else hi = mid
    }
    return spots[lo] as Spot
  }
  let count = 0
  const out: Placement = { x: 0, y: 0, color: 0 }
  const clamp = (v: number, max: number) => Math.min(max - 1, Math.max(0, Math.floor(v)))
  return {
    next: () => {
      if (++count % 250_000 === 0) {
        for (let k = 0; k < SPOTS / 50; k++) spots[Math.floor(rand() * SPOTS)] = newSpot()
      }
      if (rand() < 0.75) {
        const s = pickSpot()
        // Box-Muller: two normal deviates.
        const r = Math.sqrt(-2 * Math.log(1 - rand())) * s.sigma
        const a = 2 * Math.PI * rand()
        out.x = clamp(s.cx + r * Math.cos(a), width)
        out.y = clamp(s.cy + r * Math.sin(a), height)
        out.color = rand() < 0.8 ? (s.colors[Math.floor(rand() * 3)] as number) : globalColor()
      } else {
        out.x = Math.floor(rand() * width)
        out.y = Math.floor(rand() * height)
        out.color = globalColor()
      }
      return out
    },
    userOf: (i) => ((i % 120_000) * 7919 + 100_000 * Math.floor(i / 1_500_000)) % R_PLACE_2017.users,
  }
}
