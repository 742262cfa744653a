/**
 * Load and checks for the edge-relay tests (issue 16): an HTTP bot that places each placement
 * on a tile of its own (so that "acknowledged, hence on the board" can be checked tile by tile),
 * and a wait for a live=tiles client to hold a given seq and board.
 */
import { expect } from 'vitest'
import { sameBytes } from './bytes.ts'
import { newSession, placeHttp } from './clients.ts'
import type { TilesClient } from './tiles-client.ts'
import { waitFor } from './wait-for.ts'

/** The tile and colour (1..15) of placement n on a width x height board. */
export const tileOf = (n: number, width: number, height: number) => ({
  x: n % width,
  y: Math.floor(n / width) % height,
  color: 1 + (n % 15),
})

export type TileBot = {
  /** Placement numbers answered 200. */
  acked: number[]
  /** Placement numbers refused (503 while a relay or NATS is down) or failed. */
  refused: number[]
  stop: () => Promise<void>
}

/**
 * A bot placing over HTTP through `urls()` in turn until stopped, placement n on tileOf(n).
 * A refused placement is not retried (its tile is skipped) and the bot pauses 20 ms, as a bot
 * honouring Retry-After would, only shorter. Bots starting at different `first` numbers place
 * on different tiles.
 */
export const startTileBot = async (
  urls: () => string[],
  board: { width: number; height: number },
  first = 0,
  /** Ms between placements (0: back to back), to keep a fast bot from wrapping round the board. */
  pauseMs = 0,
): Promise<TileBot> => {
  const { token } = await newSession(urls()[0] as string)
  const acked: number[] = []
  const refused: number[] = []
  let stop = false
  let n = first
  const run = (async () => {
    while (!stop) {
      const list = urls()
      const url = list[n % list.length] as string
      const i = n++
      const r = await placeHttp(url, token, tileOf(i, board.width, board.height)).catch(() => null)
      if (r?.status === 200) {
        acked.push(i)
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
      } else {
        refused.push(i)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  })()
  return {
    acked,
    refused,
    stop: async () => {
      stop = true
      await run
    },
  }
}

/** Waits until a live=tiles client holds exactly `seq` and the bitmap `board()` reads, with no gap. */
export const convergedTo = async (c: TilesClient, seq: number, board: () => Uint8Array, what: string): Promise<void> => {
  await waitFor(
    () => {
      c.pump()
      return c.cursor() === seq && sameBytes(c.board()?.bitmap ?? new Uint8Array(), board())
    },
    { what, timeoutMs: 20_000 },
  )
  expect(c.gaps).toEqual([])
}
