/**
 * The tile inspector: the selected tile's coordinates and colour at once (from the bitmap), then
 * who placed it and when (GET /api/boards/<id>/tiles/<x>/<y>), refreshed when the tile changes.
 */
import type { ApiResult, TileInfo } from '../sync/api.ts'
import { h } from './dom.ts'
import { formatAgo, shortUser } from './format.ts'

export type InspectorDeps = {
  fetchTile: (x: number, y: number, signal: AbortSignal) => Promise<ApiResult<TileInfo>>
  /** Relay time now (ms), for "2 min ago". */
  now: () => number
  /** This browser's user id ('' while unknown), to say "you". */
  me: () => string
}

export type Inspector = {
  /** Shows a tile (null hides the card); `color` is its current colour from the bitmap. */
  show: (tile: { x: number; y: number; color: string } | null) => void
  /** The shown tile changed on the board: fetch who placed it again. */
  refresh: () => void
}

export const createInspector = (container: HTMLElement, deps: InspectorDeps): Inspector => {
  const swatch = h('span', { class: 'swatch-mini' })
  const coords = h('span', { class: 'coords-label' })
  const who = h('span', { class: 'who' })
  container.replaceChildren(swatch, coords, who)
  container.hidden = true

  let shown: { x: number; y: number; color: string } | null = null
  let inflight: AbortController | null = null

  const load = () => {
    inflight?.abort()
    if (!shown) return
    const { x, y } = shown
    const controller = new AbortController()
    inflight = controller
    who.textContent = '…'
    deps.fetchTile(x, y, controller.signal).then(
      (r) => {
        if (controller.signal.aborted) return
        if (!r.ok) {
          who.textContent = r.error === 'network' ? 'history unavailable offline' : r.message
          return
        }
        if (r.user === null || r.placedAt === null) {
          who.textContent = 'never placed'
          return
        }
        const by = r.user === deps.me() ? 'you' : shortUser(r.user)
        who.textContent = `placed by ${by} · ${formatAgo(r.placedAt, deps.now())}`
        who.title = `${r.user} at ${new Date(r.placedAt).toLocaleString()}`
      },
      () => {
        // Aborted because another tile was selected: that one's answer will show.
      },
    )
  }

  return {
    show: (tile) => {
      const same = shown && tile && shown.x === tile.x && shown.y === tile.y
      shown = tile
      container.hidden = tile === null
      if (!tile) {
        inflight?.abort()
        return
      }
      swatch.style.background = tile.color
      coords.textContent = `(${tile.x}, ${tile.y})`
      if (!same) load()
    },
    refresh: load,
  }
}
