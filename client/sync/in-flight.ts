/**
 * The placement a page draws as in flight (a pending ghost): one the relay has not answered yet,
 * or one it acknowledged whose broadcast is still to come. The relay acknowledges a placement
 * once it is durable; on a busy relay the frame that carries it may follow by a few tens of ms
 * (relay/fan-out.ts), so an acknowledged placement the board does not show yet keeps its ghost
 * until the board next changes. Pure: the caller says when the board changed.
 */
import type { Intent, PlacementState } from './placement.ts'

export type InFlight = {
  /** What to draw as in flight while the placer is in state `s`: its pending or landing placement, or null. */
  of: (s: PlacementState) => Intent | null
  /** The board changed (a broadcast arrived): the landing placement is on it now. True if one was waiting. */
  boardChanged: () => boolean
}

export const createInFlight = (colorAt: (x: number, y: number) => number | undefined): InFlight => {
  // The last acknowledgement seen (a placer state is a new object per change), and the
  // acknowledged placement the board does not show yet.
  let acknowledged: PlacementState | null = null
  let landing: Intent | null = null
  return {
    of: (s) => {
      if (s.kind === 'placed' && s !== acknowledged) {
        acknowledged = s
        landing = colorAt(s.x, s.y) === s.color ? null : { x: s.x, y: s.y, color: s.color }
      }
      if (s.kind === 'pending') return { x: s.x, y: s.y, color: s.color }
      return landing
    },
    boardChanged: () => {
      const waiting = landing !== null
      landing = null
      return waiting
    },
  }
}
