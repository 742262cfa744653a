/**
 * The /embed page (client/embed.html): one <tessera-board> filling the frame, configured by the
 * query (board, x, y, zoom, readonly=1, region, palette, theme), and its events relayed to the
 * parent page with postMessage (docs/EMBEDDING.md "The iframe").
 *
 * The parent's origin: a frame cannot read it, so the parent says hello first
 * (`{type: 'tessera-hello'}`) and the page takes event.origin from that message, if the relay
 * allows it: any origin for a read-only page (the board is public, and the relay lets anyone
 * frame it), else the relay's own origin or one of EMBED_PLACE_ORIGINS (GET /api/embed; the
 * relay's frame-ancestors already limits who may frame an interactive page to those). Events
 * are then posted to that origin only, never to '*'; the ones before the hello are kept
 * (at most MAX_BUFFERED) and sent after it. The host's token arrives by postMessage only
 * (`{type: 'tessera-token', token}`), never in the URL, and only from that origin.
 *
 * The element is the very module hosts load, /embed.js (vite.embed.config.ts), imported at run
 * time: this script imports nothing the app does, so the app's build stays as it was (no chunk
 * shared with this page), and the page's element and the hosts' never differ.
 */

import { EmbedEvent, TAG } from './embed/embed-events.ts'

/** The element's module, as hosts load it (a variable: the build leaves the import as it is). */
const ELEMENT_MODULE = '/embed.js'

/** Events kept for a parent that has not said hello yet (the oldest are dropped). */
const MAX_BUFFERED = 64

const query = new URLSearchParams(location.search)
const readonly = query.get('readonly') === '1'
type Board = HTMLElement & {
  place: (i: { x: number; y: number; color: number }) => Promise<unknown>
  select: (x: number, y: number) => void
  view: (v: { x?: number; y?: number; zoom?: number }) => void
}
// Created before its definition arrives: the element upgrades when /embed.js defines it.
const board = document.createElement(TAG) as Board
const defined = import(/* @vite-ignore */ ELEMENT_MODULE).then(() => customElements.whenDefined(TAG))
board.setAttribute('board', query.get('board') || 'main')
for (const name of ['x', 'y', 'zoom', 'region', 'palette', 'theme']) {
  const v = query.get(name)
  if (v !== null) board.setAttribute(name, v)
}
if (readonly) board.setAttribute('readonly', '')
document.body.append(board)

// The service worker precaches this page and its scripts (as it does the app's), so that a
// frame on a page opened offline still shows the last board kept (IndexedDB). A third-party
// frame whose storage is blocked is refused one: it then simply needs the network.
if ('serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {})
  })
}

// GET /api/embed: the origins whose pages may place (EMBED_PLACE_ORIGINS); none if unreadable.
const policy: Promise<string[]> = fetch('/api/embed', { credentials: 'omit' })
  .then((r) => r.json())
  .then((p: { placeOrigins?: unknown }) => (Array.isArray(p.placeOrigins) ? p.placeOrigins.map(String) : []))
  .catch(() => [])
const allowed = async (origin: string): Promise<boolean> => {
  if (readonly || origin === location.origin) return true
  const places = await policy
  return places.includes('*') || places.some((o) => o.toLowerCase() === origin.toLowerCase())
}

let parentOrigin: string | null = null
const buffered: { type: string; detail: unknown }[] = []
const post = (message: { type: string; detail: unknown }) => {
  if (window.parent === window) return
  if (parentOrigin === null) {
    buffered.push(message)
    if (buffered.length > MAX_BUFFERED) buffered.shift()
    return
  }
  window.parent.postMessage(message, parentOrigin)
}
for (const type of Object.values(EmbedEvent)) board.addEventListener(type, (e) => post({ type, detail: (e as CustomEvent).detail }))

type Command =
  | { type: 'tessera-hello' }
  | { type: 'tessera-token'; token: string | null }
  | { type: 'tessera-place'; x: number; y: number; color: number }
  | { type: 'tessera-select'; x: number; y: number }
  | { type: 'tessera-view'; x?: number; y?: number; zoom?: number }

window.addEventListener('message', async (event: MessageEvent) => {
  if (event.source !== window.parent || window.parent === window) return
  const data = event.data as Command | null
  if (!data || typeof data !== 'object' || typeof data.type !== 'string') return
  if (data.type === 'tessera-hello') {
    if (!(await allowed(event.origin))) return
    parentOrigin = event.origin
    window.parent.postMessage({ type: 'tessera-hello', detail: { board: board.getAttribute('board'), readonly } }, parentOrigin)
    for (const m of buffered.splice(0)) window.parent.postMessage(m, parentOrigin)
    return
  }
  // Commands only from the origin that said hello, once the element is defined.
  if (parentOrigin === null || event.origin !== parentOrigin) return
  await defined
  if (data.type === 'tessera-token') {
    if (data.token) board.setAttribute('token', String(data.token))
    else board.removeAttribute('token')
  } else if (data.type === 'tessera-place') {
    // The answer arrives as tessera-placed or tessera-rejected.
    board.place({ x: data.x, y: data.y, color: data.color }).catch(() => {})
  } else if (data.type === 'tessera-select') board.select(data.x, data.y)
  else if (data.type === 'tessera-view') board.view(data)
})
