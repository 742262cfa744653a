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
import { KEPT_IMAGE_KEY_PREFIX } from '../../client/sync/kept-image.ts'
import { KEPT_KEY_PREFIX } from '../../client/sync/start-sources.ts'
import { BOARD_PREVIEW_ID } from '../../client/ui/board-preview.ts'
import { keptImageUrl } from '../../shared/protocol.ts'

const html = readFileSync(join(import.meta.dirname, '../../client/index.html'), 'utf8')
/** The head's script (chooses and fetches the image) and the stage's (places it). */
const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string)

type Img = {
  hidden: boolean
  isConnected: boolean
  src: string
  /** True once loaded (or failed): the stand-in loads when the test says so. */
  complete: boolean
  naturalWidth: number
  naturalHeight: number
  style: { transform: string }
  classList: { add: (c: string) => void; remove: (c: string) => void; contains: (c: string) => boolean }
  attributes: Record<string, string>
  setAttribute: (name: string, value: string) => void
  decode: () => Promise<void>
  onload: (() => void) | null
  onerror: (() => void) | null
  remove: () => void
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
  /** The image loaded before the stage's script ran (from a cache, or the head's request was quick). */
  loadedFirst?: boolean
}

/**
 * Runs the inline scripts; returns the image stand-in the head's script made and the stage's put
 * on the page, after its load (when it asked for one).
 */
const run = (s: Setup) => {
  expect(scripts.length).toBe(2)
  const images: Img[] = []
  const stage = { clientWidth: s.stage.width, clientHeight: s.stage.height }
  // The page's placeholder <img>, which the stage's script replaces with the head's image.
  const slotAttributes: Record<string, string> = {
    id: BOARD_PREVIEW_ID,
    class: 'board board-preview',
    alt: '',
    elementtiming: 'board-preview',
  }
  let onPage: Img | null = null
  const slot = {
    getAttribute: (name: string) => slotAttributes[name] ?? null,
    replaceWith: (img: Img) => {
      img.isConnected = true
      onPage = img
    },
  }
  const Image = function (this: Img) {
    const classes = new Set<string>()
    Object.assign(this, {
      hidden: false,
      isConnected: false,
      src: '',
      complete: false,
      naturalWidth: 0,
      naturalHeight: 0,
      style: { transform: '' },
      classList: { add: (c: string) => classes.add(c), remove: (c: string) => classes.delete(c), contains: (c: string) => classes.has(c) },
      attributes: {},
      setAttribute(this: Img, name: string, value: string) {
        this.attributes[name] = value
      },
      decode: () => Promise.resolve(),
      onload: null,
      onerror: null,
      remove(this: Img) {
        this.isConnected = false
      },
      parentElement: stage,
    })
    images.push(this)
  }
  const load = (img: Img) => {
    img.complete = true
    img.naturalWidth = s.board.width
    img.naturalHeight = s.board.height
  }
  const loading = { hidden: false }
  const documentElement = { dataset: {} as Record<string, string> } as { dataset: Record<string, string>; previewImage?: Img }
  // The page is still being parsed while the inline scripts run; its end is played below.
  const parsed: Array<() => void> = []
  const document = {
    readyState: 'loading',
    addEventListener: (type: string, fn: () => void) => {
      expect(type).toBe('readystatechange')
      parsed.push(fn)
    },
    documentElement,
    getElementById: (id: string) => (id === BOARD_PREVIEW_ID ? (onPage ?? slot) : id === 'loading' ? loading : null),
  }
  const location = { search: s.search ?? '', hash: s.hash ?? '' }
  const stored = s.stored ?? {}
  const localStorage = { getItem: (k: string) => stored[k] ?? null }
  const navigator = { serviceWorker: s.controller ? { controller: {} } : { controller: null } }
  const [head, body] = scripts as [string, string]
  const runScript = (script: string) =>
    new Function('document', 'location', 'localStorage', 'navigator', 'devicePixelRatio', 'Image', script)(
      document,
      location,
      localStorage,
      navigator,
      s.dpr ?? 1,
      Image,
    )
  runScript(head)
  // At most one image, asked for in the head and kept for the stage's script.
  expect(images.length).toBeLessThanOrEqual(1)
  expect(documentElement.previewImage).toBe(images[0])
  const img = images[0]
  if (img && s.loadedFirst) load(img)
  runScript(body)
  if (!img) return { img: null, loading, placedEarly: false }
  // The very element the head's script asked for is on the page, named as the placeholder was.
  expect(onPage).toBe(img)
  expect(img.attributes).toEqual(slotAttributes)
  const fittedEarly = !img.hidden && img.classList.contains('board-preview-early')
  // The end of parsing.
  document.readyState = 'interactive'
  for (const fn of parsed.splice(0)) fn()
  // Placed already: a kept image of known size, before it loaded.
  const placedEarly = !img.hidden && img.style.transform !== ''
  if (!img.complete) {
    load(img)
    img.onload?.()
  }
  // Placed exactly in the end, not by the stylesheet.
  if (img.isConnected) expect(img.classList.contains('board-preview-early')).toBe(false)
  return { img, loading, placedEarly, fittedEarly }
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
    for (const loadedFirst of [false, true]) {
      const { img, loading, fittedEarly } = run({ stage, board, loadedFirst })
      expect(img?.src).toBe('/api/boards/main/snapshot.png')
      // Shown fitted by the stylesheet before its size (or the stage's) is known.
      expect(fittedEarly).toBe(true)
      expect(img?.hidden).toBe(false)
      expect(loading.hidden).toBe(true)
      expect(img?.style.transform).toBe(appTransform({ stage, board }, 'main'))
    }
  })

  it('is fitted by the stylesheet exactly where the app fits its view: not for a deep link or a remembered view', () => {
    const remembered = { [viewStorageKey('main')]: JSON.stringify({ cx: 3, cy: 4, scale: 9 }) }
    for (const c of [{ hash: '#x=12&y=40&zoom=8' }, { stored: remembered }]) {
      const { img, fittedEarly } = run({ stage, board, ...c })
      expect(fittedEarly, JSON.stringify(c)).toBe(false)
      expect(img?.style.transform, JSON.stringify(c)).toBe(appTransform({ stage, board, ...c }, 'main'))
    }
    // What the app does not take for a view (an unreadable link or remembered view) is fitted.
    for (const c of [
      { hash: '#x=abc&y=40' },
      { hash: '#section' },
      { stored: { [viewStorageKey('main')]: 'not json' } },
      { stored: { [viewStorageKey('main')]: '{"cx":"1","cy":2,"scale":3}' } },
    ]) {
      const { img, fittedEarly } = run({ stage, board, ...c })
      expect(fittedEarly, JSON.stringify(c)).toBe(true)
      expect(img?.style.transform, JSON.stringify(c)).toBe(appTransform({ stage, board, ...c }, 'main'))
    }
  })

  it('shows the loading line, not a broken image, when the snapshot failed before the stage script ran', () => {
    // The head's request answered 404 (a board with no snapshot yet) while the stylesheet loaded.
    const { img, loading } = run({ stage, board: { width: 0, height: 0 }, loadedFirst: true })
    expect(img?.isConnected).toBe(false)
    expect(loading.hidden).toBe(false)
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
      expect(img?.style.transform, JSON.stringify(c)).toBe(appTransform(c, 'main'))
    }
  })

  it('names the board of ?board=, and nothing for an invalid id', () => {
    expect(run({ stage, board, search: '?board=art_2' }).img?.src).toBe('/api/boards/art_2/snapshot.png')
    const named = {
      stage,
      board,
      search: '?board=art_2',
      stored: { [viewStorageKey('art_2')]: JSON.stringify({ cx: 3, cy: 4, scale: 9 }) },
    }
    expect(run(named).img?.style.transform).toBe(appTransform(named, 'art_2'))
    expect(run({ stage, board, search: '?board=../x' }).img).toBeNull()
  })

  it('shows the kept image of a returning page (through the service worker), and no snapshot where a board is kept without one', () => {
    const keptImage = { [`${KEPT_IMAGE_KEY_PREFIX}main`]: '1', [`${KEPT_KEY_PREFIX}main`]: '1' }
    const legacy = run({ stage, board, stored: keptImage, controller: true })
    expect(legacy.img?.src).toBe(keptImageUrl('main'))
    // Kept before its size was: placed once loaded.
    expect(legacy.placedEarly).toBe(false)
    expect(legacy.img?.style.transform).toBe(appTransform({ stage, board }, 'main'))
    // No service worker to answer the kept image's URL: the board kept in IndexedDB is what the app paints first.
    expect(run({ stage, board, stored: keptImage, controller: false }).img).toBeNull()
    expect(run({ stage, board, stored: { [`${KEPT_KEY_PREFIX}main`]: '1' }, controller: true }).img).toBeNull()
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
      expect(img?.src).toBe(keptImageUrl('main'))
      expect(placedEarly).toBe(true)
      expect(loading.hidden).toBe(true)
      expect(img?.style.transform, JSON.stringify(c)).toBe(appTransform({ ...c, stored }, 'main'))
    }
    // A value that is no size: no kept image; the board kept in IndexedDB is painted by the app.
    const odd = { [`${KEPT_IMAGE_KEY_PREFIX}main`]: '12x', [`${KEPT_KEY_PREFIX}main`]: '1' }
    expect(run({ stage, board, stored: odd, controller: true }).img).toBeNull()
  })
})
