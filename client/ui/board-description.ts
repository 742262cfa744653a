/**
 * What a screen reader hears about the board: the canvas's name (board id and size) and a
 * description of the selection (its coordinates and colour by name), kept in a visually hidden
 * element the canvas points to with aria-describedby. Words are pure and unit-tested.
 */
import { colorName } from '../../shared/palette.ts'

/** The canvas's accessible name: "Board main, 1000 by 1000 tiles". */
export const boardLabel = (id: string, width: number, height: number): string => `Board ${id}, ${width} by ${height} tiles`

/** The selection in words: "Selected tile 12, 40: red", or how to select one. */
export const selectionText = (tile: { x: number; y: number; color: string } | null): string =>
  tile ? `Selected tile ${tile.x}, ${tile.y}: ${colorName(tile.color)}` : 'No tile selected. Click a tile, or press an arrow key.'

export type BoardDescription = {
  setBoard: (id: string, width: number, height: number) => void
  setSelection: (tile: { x: number; y: number; color: string } | null) => void
}

/** Labels `canvas` and describes it with a hidden element appended to `host`. */
export const createBoardDescription = (canvas: HTMLCanvasElement, host: HTMLElement): BoardDescription => {
  const desc = document.createElement('p')
  desc.id = 'board-description'
  desc.className = 'visually-hidden'
  host.append(desc)
  canvas.setAttribute('role', 'img')
  canvas.setAttribute('aria-describedby', desc.id)
  desc.textContent = selectionText(null)
  return {
    setBoard: (id, width, height) => canvas.setAttribute('aria-label', boardLabel(id, width, height)),
    setSelection: (tile) => {
      desc.textContent = selectionText(tile)
    },
  }
}
