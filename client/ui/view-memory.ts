/**
 * The view in the address and in localStorage: a deep link (`#x=&y=&zoom=`, next to `?board=`)
 * opens on its tile at its zoom; without one, the view last seen on this board is restored. As
 * the view changes, the address follows (history.replaceState: no history entry per pan) and the
 * view is remembered, at most every WRITE_EVERY_MS. Editing the hash by hand moves the view.
 */
import type { BoardView } from '../render/board-view.ts'
import { formatViewLink, parseStoredView, parseViewLink, viewStorageKey } from '../render/view-link.ts'
import { sameViewport, type Viewport } from '../render/viewport.ts'

/**
 * Milliseconds between two writes of the address and the stored view while the view moves.
 * Chromium refuses more than ~100 history changes in 10 s; a pan emits one change per frame.
 */
const WRITE_EVERY_MS = 400

/** The viewport a hash names, the current zoom kept where the link has none. */
const fromLink = (hash: string, current: Viewport): Viewport | null => {
  const link = parseViewLink(hash)
  return link ? { cx: link.cx, cy: link.cy, scale: link.scale ?? current.scale } : null
}

/**
 * Applies the linked or remembered view to `view` (call once the stage has its size) and keeps
 * the address and the store following it from then on.
 */
export const attachViewMemory = (view: BoardView, boardId: string, storage: Storage | null): void => {
  const key = viewStorageKey(boardId)
  const initial = fromLink(location.hash, view.viewport()) ?? parseStoredView(storage?.getItem(key) ?? null)
  if (initial) view.setViewport(initial)

  let written = location.hash
  // The view last written: the board view reports a selection or a ghost moving as a viewport
  // change too, and an unchanged view rewrites nothing (each write is a same-document navigation).
  let last = view.viewport()
  let timer: ReturnType<typeof setTimeout> | null = null
  const write = () => {
    if (timer) clearTimeout(timer)
    timer = null
    const v = view.viewport()
    if (sameViewport(v, last)) return
    last = v
    written = formatViewLink(v)
    history.replaceState(history.state, '', `${location.pathname}${location.search}${written}`)
    try {
      storage?.setItem(key, JSON.stringify(v))
    } catch {
      // Storage full or refused: the address still carries the view.
    }
  }
  view.onViewport(() => {
    if (!timer) timer = setTimeout(write, WRITE_EVERY_MS)
  })
  window.addEventListener('pagehide', () => {
    if (timer) write()
  })
  // replaceState fires no hashchange: this is a person editing the address or following a link.
  window.addEventListener('hashchange', () => {
    if (location.hash === written) return
    const linked = fromLink(location.hash, view.viewport())
    if (linked) view.setViewport(linked)
  })
}
