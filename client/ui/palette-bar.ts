/**
 * The palette: one swatch per colour, a radio group (arrow keys are the board's, so [ ] cycle,
 * and keys 1-9, 0 pick the first ten). Each swatch is named by its colour's name.
 */
import { colorName } from '../../shared/palette.ts'
import { h } from './dom.ts'

export type PaletteBar = {
  /** Redraws the swatches (the palette may grow while the page is open). */
  setPalette: (palette: readonly string[]) => void
  setSelected: (index: number) => void
}

export const createPaletteBar = (container: HTMLElement, onSelect: (index: number) => void): PaletteBar => {
  container.setAttribute('role', 'radiogroup')
  container.setAttribute('aria-label', 'Colour')
  let selected = 0
  let swatches: HTMLButtonElement[] = []

  const mark = () => {
    swatches.forEach((s, i) => {
      s.setAttribute('aria-checked', String(i === selected))
    })
  }

  container.addEventListener('click', (e) => {
    const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-color]')
    if (!button) return
    onSelect(Number(button.dataset.color))
  })

  return {
    setPalette: (palette) => {
      swatches = palette.map((color, i) => {
        const swatch = h('button', {
          type: 'button',
          class: 'swatch',
          role: 'radio',
          'data-color': i,
          title: i < 10 ? `${colorName(color)} (${color}) · key ${(i + 1) % 10}` : `${colorName(color)} (${color})`,
          'aria-label': colorName(color),
        })
        // Through the CSSOM, not a style="" attribute: the relay's Content-Security-Policy
        // (style-src 'self', no 'unsafe-inline') refuses inline style attributes.
        swatch.style.setProperty('--swatch', color)
        return swatch
      })
      container.replaceChildren(...swatches)
      // Rows of at most 16 swatches on wide screens and 8 on phones, filled evenly
      // (16 colours: one row of 16, or two rows of 8; 12 colours: 12, or two of 6).
      const n = palette.length
      container.style.setProperty('--cols-wide', String(Math.ceil(n / Math.ceil(n / 16))))
      container.style.setProperty('--cols-narrow', String(Math.ceil(n / Math.ceil(n / 8))))
      mark()
    },
    setSelected: (index) => {
      selected = index
      mark()
    },
  }
}
