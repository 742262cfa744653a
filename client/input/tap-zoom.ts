/**
 * Selecting needs a zoom at which a tile is a visible target: below MIN_SELECT_SCALE CSS px per
 * tile (a fitted 1000 x 1000 board on a phone is ~0.35 px per tile) a tap would pick one of many
 * tiles under the finger, so it zooms in towards the point instead, as r/place does. Pure.
 */
import {
  type BoardSize,
  centerOnTile,
  ensureTileVisible,
  type Point,
  type ScaleLimits,
  type StageSize,
  tileAt,
  type Viewport,
  zoomAt,
} from '../render/viewport.ts'

/** Smallest zoom (CSS px per tile) at which a tap or a key selects a tile. */
export const MIN_SELECT_SCALE = 4

/** The zoom (CSS px per tile) a tap below MIN_SELECT_SCALE goes to: a tile a comfortable target. */
export const TAP_ZOOM_SCALE = 12

/** What a tap does: select the tile under it (null: off the board, clears), or zoom in. */
export type TapAction = { kind: 'select'; tile: Point | null } | { kind: 'zoom'; viewport: Viewport }

/**
 * The action of a tap at stage point `at` (CSS px). Below MIN_SELECT_SCALE a tap on the board
 * zooms to TAP_ZOOM_SCALE (within the limits) keeping the tapped board point under the finger, so
 * that a second tap there selects the tile that was aimed at.
 */
export const tapAction = (v: Viewport, stage: StageSize, board: BoardSize, at: Point, limits: ScaleLimits): TapAction => {
  const tile = tileAt(v, stage, board, at)
  if (v.scale >= MIN_SELECT_SCALE || tile === null) return { kind: 'select', tile }
  const target = Math.min(limits.max, Math.max(limits.min, TAP_ZOOM_SCALE))
  return { kind: 'zoom', viewport: zoomAt(v, stage, target / v.scale, at, limits) }
}

/**
 * The view after the keyboard moved the selection to `tile`: below MIN_SELECT_SCALE it centres
 * the tile at TAP_ZOOM_SCALE (a selection should be seen before it is placed); otherwise it pans
 * as little as needed to keep the tile `margin` CSS px inside the stage.
 */
export const viewForKeyboardSelection = (v: Viewport, stage: StageSize, tile: Point, margin: number): Viewport =>
  v.scale < MIN_SELECT_SCALE ? { ...centerOnTile(v, tile), scale: TAP_ZOOM_SCALE } : ensureTileVisible(v, stage, tile, margin)
