/**
 * Keyboard controls (docs/CLIENT.md): arrows or WASD move the selection (Shift: 10 tiles),
 * + and - zoom, F fits the board, [ and ] change colour, 1-9 and 0 choose one of the first ten
 * colours, G shows or hides the grid, Enter or Space places, Escape clears.
 */

export type KeyboardActions = {
  /** Moves the selection by (dx, dy) tiles (selecting the centre tile if none). */
  moveSelection: (dx: number, dy: number) => void
  /** Multiplies the zoom, around the selection if any. */
  zoom: (factor: number) => void
  fit: () => void
  /** Selects the previous (-1) or next (+1) palette colour. */
  cycleColor: (step: -1 | 1) => void
  place: () => void
  clearSelection: () => void
  /** Selects palette colour `index` (0-based: key 1 is colour 0, key 0 is colour 9). */
  chooseColor: (index: number) => void
  toggleGrid: () => void
}

/** Zoom factor of one key press: two presses double or halve the zoom. */
const ZOOM_STEP = Math.SQRT2

/** Attaches to `target` (usually window); returns a function that detaches. */
export const attachKeyboard = (target: Window, actions: KeyboardActions): (() => void) => {
  const onKey = (e: KeyboardEvent) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return
    const el = e.target as HTMLElement | null
    // Typing in a field, or pressing a focused button with Space/Enter, is not a board command.
    if (el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.isContentEditable)) return
    if (el && el.tagName === 'BUTTON' && (e.key === 'Enter' || e.key === ' ')) return
    const step = e.shiftKey ? 10 : 1
    switch (e.key) {
      case 'ArrowLeft':
      case 'a':
      case 'A':
        actions.moveSelection(-step, 0)
        break
      case 'ArrowRight':
      case 'd':
      case 'D':
        actions.moveSelection(step, 0)
        break
      case 'ArrowUp':
      case 'w':
      case 'W':
        actions.moveSelection(0, -step)
        break
      case 'ArrowDown':
      case 's':
      case 'S':
        actions.moveSelection(0, step)
        break
      case '+':
      case '=':
        actions.zoom(ZOOM_STEP)
        break
      case '-':
      case '_':
        actions.zoom(1 / ZOOM_STEP)
        break
      case 'f':
      case 'F':
        actions.fit()
        break
      case '[':
        actions.cycleColor(-1)
        break
      case ']':
        actions.cycleColor(1)
        break
      case 'Enter':
      case ' ':
        actions.place()
        break
      case 'Escape':
        actions.clearSelection()
        break
      case 'g':
      case 'G':
        actions.toggleGrid()
        break
      default:
        // e.key is '!' etc. with Shift on most layouts: digits come unshifted only.
        if (e.key.length === 1 && e.key >= '0' && e.key <= '9') actions.chooseColor((Number(e.key) + 9) % 10)
        else return
    }
    e.preventDefault()
  }
  target.addEventListener('keydown', onKey)
  return () => target.removeEventListener('keydown', onKey)
}
