/**
 * The stage's small tools: the tile grid (a button and the G key; remembered in localStorage),
 * the coordinates of the tile under the pointer, and the board canvas's accessible name.
 */
import type { BoardView } from '../render/board-view.ts'
import { createGridOverlay } from '../render/grid-overlay.ts'
import { attachHoverReadout } from './hover-readout.ts'

const GRID_KEY = 'tessera.grid'

export type ViewTools = { toggleGrid: () => void }

export const attachViewTools = (
  stage: HTMLElement,
  view: BoardView,
  els: { gridButton: HTMLButtonElement; coords: HTMLElement },
  storage: Storage | null,
): ViewTools => {
  const grid = createGridOverlay(view.canvas)
  const setGrid = (on: boolean) => {
    grid.setEnabled(on)
    els.gridButton.setAttribute('aria-pressed', String(on))
    try {
      storage?.setItem(GRID_KEY, on ? '1' : '0')
    } catch {
      // Not remembered: storage refused.
    }
  }
  const toggleGrid = () => setGrid(!grid.enabled())
  els.gridButton.addEventListener('click', toggleGrid)
  // The button sits on the stage, whose pointerdown captures the pointer for a pan or a tap
  // (the click would then never reach the button, and the tap would select the tile beneath).
  els.gridButton.addEventListener('pointerdown', (e) => e.stopPropagation())
  // Off by default: at the zoom where it shows, most people look at the art, not the lines.
  setGrid(storage?.getItem(GRID_KEY) === '1')
  view.onViewport((v) => grid.update(v, view.stageSize(), view.boardSize()))
  grid.update(view.viewport(), view.stageSize(), view.boardSize())
  attachHoverReadout(stage, view, els.coords)
  return { toggleGrid }
}
