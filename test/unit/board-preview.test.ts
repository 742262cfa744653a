/**
 * The HTML's board preview (client/index.html's inline script, client/ui/board-preview.ts) runs
 * before any module, so it cannot import the app's view math or names: here it is run on plain
 * stand-ins for the few DOM objects it touches, and its placement compared with the transform the
 * app's board view gives its canvas (client/render/viewport.ts, view-link.ts) for the same stage,
 * board, deep link, remembered view and device pixel ratio; and its URLs and keys with the app's.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseStoredView, parseViewLink, viewStorageKey } from '../../client/render/view-link.ts'
import { canvasTransform, clampViewport, fitViewport, scaleLimits } from '../../client/render/viewport.ts'
import { KEPT_IMAGE_KEY_PREFIX, keptImageUrl } from '../../client/sync/kept-image.ts'
import { KEPT_KEY_PREFIX } from '../../client/sync/start-sources.ts'
import { BOARD_PREVIEW_ID } from '../../client/ui/board-preview.ts'

const html = readFileSync(join(import.meta.dirname, '../../client/index.html'), 'utf8')
/** The head's script (chooses and fetches the image) and the stage's (places it). */
const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string)

type Img = {
  hidden: boolean
  isConnected: boolean
  src: string
  naturalWidth: number
  naturalHeight: number
  style: { transform: string }
  onload: (() => void) | null
  parentElement: { clientWidth: number; clientHeight: number }
}

type Setup = {
  search?: string
  hash?: string
  stored?: Record<string, string>
  controller?: boolean
  stage: { width: number; height: number }
  board: { width: number; height: number }
  dpr?: number
}

/** Runs the inline script; returns the image stand-in after its load (when it asked for one). */
const run = (s: Setup) => {
  expect(scripts.length).toBe(2)
  const img: Img = {
    hidden: true,
    isConnected: true,
    src: '',
    naturalWidth: 0,
    naturalHeight: 0,
    style: { transform: '' },
    onload: null,
    parentElement: { clientWidth: s.stage.width, clientHeight: s.stage.height },
  }
  const loading = { hidden: false }
  const document = {
    readyState: 'interactive',
    documentElement: { dataset: {} as Record<string, string> },
    getElementById: (id: string) => (id === BOARD_PREVIEW_ID ? img : id === 'loading' ? loading : null),
  }
  const location = { search: s.search ?? '', hash: s.hash ?? '' }
  const stored = s.stored ?? {}
  const localStorage = { getItem: (k: string) => stored[k] ?? null }
  const navigator = { serviceWorker: s.controller ? { controller: {} } : { controller: null } }
  const early: string[] = []
  const Image = function (this: { src: string; decode: () => Promise<void> }) {
    this.decode = () => {
      early.push(this.src)
      return Promise.resolve()
    }
  }
  for (const script of scripts)
    new Function('document', 'location', 'localStorage', 'navigator', 'devicePixelRatio', 'Image', script)(
      document,
      location,
      localStorage,
      navigator,
      s.dpr ?? 1,
      Image,
    )
  // The head's script fetches and decodes the very image the stage's script shows.
  expect(early).toEqual(img.src ? [img.src] : [])
  // Placed already: a kept image of known size, before it loaded.
  const placedEarly = !img.hidden
  if (img.src && img.onload) {
    img.naturalWidth = s.board.width
    img.naturalHeight = s.board.height
    img.onload()
  }
  return { img, loading, placedEarly }
}

/** The app's canvas transform for the same page (client/render/board-view.ts and ui/view-memory.ts). */
const appTransform = (s: Setup, boardId: string) => {
  const fit = fitViewport(s.board, s.stage)
  const link = parseViewLink(s.hash ?? '')
  const initial = link
    ? { cx: link.cx, cy: link.cy, scale: link.scale ?? fit.scale }
    : parseStoredView(s.stored?.[viewStorageKey(boardId)] ?? null)
  const view = initial ? clampViewport(initial, s.board, scaleLimits(s.board, s.stage)) : fit
  const t = canvasTransform(view, s.stage, s.dpr ?? 1)
  return `translate(${t.tx}px, ${t.ty}px) scale(${t.scale})`
}

describe('the board preview', () => {
  const stage = { width: 1280, height: 651 }
  const board = { width: 1000, height: 1000 }

  it('shows the latest snapshot on a first visit, fitted as the app fits its canvas', () => {
    const { img, loading } = run({ stage, board })
    expect(img.src).toBe('/api/boards/main/snapshot.png')
    expect(img.hidden).toBe(false)
    expect(loading.hidden).toBe(true)
    expect(img.style.transform).toBe(appTransform({ stage, board }, 'main'))
  })

  it('is placed as the app places its canvas, for deep links, remembered views, odd sizes and pixel ratios', () => {
    const cases: Setup[] = [
      { stage, board, hash: '#x=12&y=40&zoom=8' },
      { stage, board, hash: '#x=12.9&y=40&zoom=8', dpr: 2 },
      { stage, board, hash: '#x=500&y=3' },
      { stage, board, hash: '#x=5000&y=-30&zoom=500' },
      { stage, board, hash: '#x=10&y=10&zoom=0.001' },
      { stage, board, hash: '#x=10&y=10&zoom=abc' },
      { stage, board, hash: '#section' },
      { stage, board, stored: { [viewStorageKey('main')]: JSON.stringify({ cx: 321.7, cy: 12.2, scale: 3.3 }) }, dpr: 1.5 },
      { stage, board, stored: { [viewStorageKey('main')]: '{"cx":"1","cy":2,"scale":3}' } },
      { stage, board, stored: { [viewStorageKey('main')]: 'not json' } },
      // A deep link wins over the remembered view.
      { stage, board, hash: '#x=7&y=9&zoom=20', stored: { [viewStorageKey('main')]: JSON.stringify({ cx: 1, cy: 1, scale: 2 }) } },
      { stage: { width: 375, height: 540 }, board: { width: 96, height: 64 }, dpr: 3 },
      { stage: { width: 0, height: 0 }, board: { width: 96, height: 64 } },
    ]
    for (const c of cases) {
      const { img } = run(c)
      expect(img.style.transform, JSON.stringify(c)).toBe(appTransform(c, 'main'))
    }
  })

  it('names the board of ?board=, and nothing for an invalid id', () => {
    expect(run({ stage, board, search: '?board=art_2' }).img.src).toBe('/api/boards/art_2/snapshot.png')
    const named = {
      stage,
      board,
      search: '?board=art_2',
      stored: { [viewStorageKey('art_2')]: JSON.stringify({ cx: 3, cy: 4, scale: 9 }) },
    }
    expect(run(named).img.style.transform).toBe(appTransform(named, 'art_2'))
    expect(run({ stage, board, search: '?board=../x' }).img.src).toBe('')
  })

  it('shows the kept image of a returning page (through the service worker), and no snapshot where a board is kept without one', () => {
    const keptImage = { [`${KEPT_IMAGE_KEY_PREFIX}main`]: '1', [`${KEPT_KEY_PREFIX}main`]: '1' }
    const legacy = run({ stage, board, stored: keptImage, controller: true })
    expect(legacy.img.src).toBe(keptImageUrl('main'))
    // Kept before its size was: placed once loaded.
    expect(legacy.placedEarly).toBe(false)
    expect(legacy.img.style.transform).toBe(appTransform({ stage, board }, 'main'))
    // No service worker to answer the kept image's URL: the board kept in IndexedDB is what the app paints first.
    expect(run({ stage, board, stored: keptImage, controller: false }).img.src).toBe('')
    expect(run({ stage, board, stored: { [`${KEPT_KEY_PREFIX}main`]: '1' }, controller: true }).img.src).toBe('')
  })

  it('places a kept image of known size before it has loaded, as the app places its canvas', () => {
    for (const c of [
      { stage, board },
      { stage, board: { width: 1500, height: 700 }, hash: '#x=1400&y=600&zoom=9' },
      { stage: { width: 375, height: 540 }, board: { width: 96, height: 64 }, dpr: 3 },
    ]) {
      const stored = {
        [`${KEPT_IMAGE_KEY_PREFIX}main`]: `${c.board.width}x${c.board.height}`,
        [`${KEPT_KEY_PREFIX}main`]: '1',
      }
      const { img, loading, placedEarly } = run({ ...c, stored, controller: true })
      expect(img.src).toBe(keptImageUrl('main'))
      expect(placedEarly).toBe(true)
      expect(loading.hidden).toBe(true)
      expect(img.style.transform, JSON.stringify(c)).toBe(appTransform({ ...c, stored }, 'main'))
    }
    // A value that is no size: no kept image; the board kept in IndexedDB is painted by the app.
    const odd = { [`${KEPT_IMAGE_KEY_PREFIX}main`]: '12x', [`${KEPT_KEY_PREFIX}main`]: '1' }
    expect(run({ stage, board, stored: odd, controller: true }).img.src).toBe('')
  })
})
