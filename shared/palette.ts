/**
 * Palettes: lists of "#rrggbb" colors. Index 0 is the color of a tile that was never placed.
 */

/** Most colors a palette may hold: tile values keep the color in 5 bits (see tile-codec.ts). */
export const MAX_PALETTE_SIZE = 32

/** The 16 colors of Reddit's r/place 2017, in its order (0 = white, the unplaced color). */
export const PLACE_2017_PALETTE: readonly string[] = [
  '#ffffff',
  '#e4e4e4',
  '#888888',
  '#222222',
  '#ffa7d1',
  '#e50000',
  '#e59500',
  '#a06a42',
  '#e5d900',
  '#94e044',
  '#02be01',
  '#00d3dd',
  '#0083c7',
  '#0000ea',
  '#cf6ee4',
  '#820080',
]

/**
 * Names of the r/place 2017 colours, for people who cannot tell them apart by sight (the palette
 * buttons' accessible names, the board's description). Keyed by "#rrggbb" (lower case).
 */
export const COLOR_NAMES: Readonly<Record<string, string>> = {
  '#ffffff': 'white',
  '#e4e4e4': 'light grey',
  '#888888': 'grey',
  '#222222': 'black',
  '#ffa7d1': 'pink',
  '#e50000': 'red',
  '#e59500': 'orange',
  '#a06a42': 'brown',
  '#e5d900': 'yellow',
  '#94e044': 'lime',
  '#02be01': 'green',
  '#00d3dd': 'cyan',
  '#0083c7': 'blue',
  '#0000ea': 'dark blue',
  '#cf6ee4': 'magenta',
  '#820080': 'purple',
}

/** A colour's name (COLOR_NAMES), or its "#rrggbb" for a colour without one. */
export const colorName = (color: string): string => COLOR_NAMES[color.toLowerCase()] ?? color

const HEX_COLOR = /^#[0-9a-f]{6}$/

/** Whether `value` is a color as palettes store it: "#rrggbb", lower case. */
export const isPaletteColor = (value: unknown): value is string => typeof value === 'string' && HEX_COLOR.test(value)

/**
 * Checks a palette and returns it normalised to lower case, or an error message.
 * A palette has 2..32 distinct "#rrggbb" colors.
 */
export const parsePalette = (value: unknown): { ok: true; palette: string[] } | { ok: false; error: string } => {
  if (!Array.isArray(value)) return { ok: false, error: 'palette must be an array of "#rrggbb" strings' }
  if (value.length < 2 || value.length > MAX_PALETTE_SIZE) {
    return { ok: false, error: `palette must have 2..${MAX_PALETTE_SIZE} colors` }
  }
  const palette = value.map((c) => (typeof c === 'string' ? c.toLowerCase() : c))
  for (const c of palette) {
    if (!isPaletteColor(c)) return { ok: false, error: `palette color ${JSON.stringify(c)} is not "#rrggbb"` }
  }
  if (new Set(palette).size !== palette.length) return { ok: false, error: 'palette colors must be distinct' }
  return { ok: true, palette: palette as string[] }
}

/** Parses "#rrggbb" into its [r, g, b] bytes. The color must satisfy isPaletteColor. */
export const colorToRgb = (color: string): [number, number, number] => {
  const n = Number.parseInt(color.slice(1), 16)
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]
}
