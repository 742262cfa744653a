/**
 * The client, composed: identity and board info over HTTP, the board over the WebSocket (a
 * sync answer into the document on connect, then Tiles and Config frames), a bitmap kept from
 * both, the canvas view, input, and the HUD. Data flow (docs/CLIENT.md):
 *
 *   relay --sync answer--> Y.Doc --observeDeep--> board-state (bitmap + damage) --> board-view
 *   relay --Tiles, Config frames--> connection (seq cursor) --> board-state
 *   palette/tile/Place --> placer (shared rules) --Place frame--> relay --PlaceResult--> HUD
 */
import * as Y from 'yjs'
import { BOARD_ID_PATTERN, type BoardConfig } from '../shared/board.ts'
import { CloseCode } from '../shared/protocol.ts'
import { attachGestures } from './input/gestures.ts'
import { attachKeyboard } from './input/keyboard.ts'
import { createBoardView, type Ghost } from './render/board-view.ts'
import { ensureTileVisible, type Point, scaleLimits, tileAt, zoomAt } from './render/viewport.ts'
import { createSession, fetchBoard, fetchTile, type Session } from './sync/api.ts'
import { createBoardState } from './sync/board-state.ts'
import { createRelayClock } from './sync/clock.ts'
import { createConnection } from './sync/connection.ts'
import { createPlacer } from './sync/placement.ts'
import { byId } from './ui/dom.ts'
import { createFeedback } from './ui/feedback.ts'
import { formatCountdown } from './ui/format.ts'
import { createInspector } from './ui/inspector.ts'
import { createPaletteBar } from './ui/palette-bar.ts'
import { createPlaceButton, type PlaceButtonModel } from './ui/place-button.ts'
import { createStatusBar } from './ui/status-bar.ts'

export type AppOptions = {
  /** Origin of the relay's HTTP API, e.g. "https://place.example" ('' = this page's origin). */
  origin: string
  /** WebSocket base, e.g. "wss://place.example/ws"; the board id is appended. */
  wsBase: string
  /** The board to show; null when the URL named an invalid id (an error page is shown). */
  boardId: string | null
  /** Where the chosen colour is remembered between visits (null: nowhere). */
  storage: Storage | null
}

/** Read-only view of the client's state for tests and the console (window.__tessera). */
export type DebugHook = {
  config: () => BoardConfig
  /** A copy of the bitmap (row-major colour indices). */
  bitmap: () => Uint8Array
  status: () => string
  selection: () => Point | null
  /** The last history seq the bitmap holds (null while syncing). */
  cursor: () => number | null
}

/** The board id in a page URL (?board=<id>), or 'main'. Null if it is not a valid id. */
export const boardIdFrom = (search: string): string | null => {
  const id = new URLSearchParams(search).get('board') ?? 'main'
  return BOARD_ID_PATTERN.test(id) ? id : null
}

const COLOR_KEY = 'tessera.color'
/** Where the page remembers when its identity cookie expires (ms, relay clock), to know whether it holds one. */
const SESSION_KEY = 'tessera.sessionExpiresAt'

/** Shows a page-wide message instead of the board (unknown board, relay unreachable). */
const showFatal = (title: string, detail: string) => {
  const box = byId('fatal')
  byId('fatal-title').textContent = title
  byId('fatal-detail').textContent = detail
  box.hidden = false
  byId('loading').hidden = true
  document.body.dataset.connection = 'failed'
}

export const startApp = async (opts: AppOptions): Promise<DebugHook | null> => {
  const { origin, boardId } = opts
  if (boardId === null) {
    showFatal('That is not a board id', 'Board ids are 1 to 64 characters of a-z, 0-9, _ and -.')
    return null
  }
  // When the identity cookie (HttpOnly: unreadable here) expires, as last told by the relay.
  const holdsIdentity = () => Number(opts.storage?.getItem(SESSION_KEY)) > Date.now()
  const rememberSession = (s: Session) => opts.storage?.setItem(SESSION_KEY, String(s.expiresAt))
  byId('board-name').textContent = boardId
  document.title = `${boardId} · Tessera`

  // The identity first: the WebSocket presents the cookie this sets, and a socket opened without
  // it would be read-only. The board info is fetched meanwhile.
  const [session, boardRes] = await Promise.all([createSession(origin, holdsIdentity()), fetchBoard(origin, boardId)])
  const info = boardRes.result
  if (!info.ok) {
    if (info.status === 404)
      showFatal(`No board named “${boardId}”`, 'Check the address, or ask whoever runs this relay which boards it serves.')
    else showFatal('Cannot reach the board', `${info.message}. Reload to try again.`)
    return null
  }
  const clock = createRelayClock()
  if (boardRes.date !== null) clock.observeCoarse(boardRes.date, Date.now())
  if (session.ok) rememberSession(session)
  let me = session.ok ? session.user : ''
  let readOnly = !session.ok
  // Renew the token (same user, fresh expiry) once it is past half its life, while the page is
  // open; a page load renews it too. setTimeout holds at most 2^31 - 1 ms (24.8 days).
  // A failed renewal (offline, say) is retried every minute.
  let renewal: ReturnType<typeof setTimeout> | undefined
  const renewIn = (ms: number) => {
    clearTimeout(renewal)
    renewal = setTimeout(
      () =>
        void createSession(origin, holdsIdentity()).then((r) => {
          if (!r.ok) return renewIn(60_000)
          me = r.user
          rememberSession(r)
          scheduleRenewal(r)
          // The open socket presented the old token, which the relay refuses once it expires.
          connection.reconnect()
        }),
      Math.min(2 ** 31 - 1, Math.max(60_000, ms)),
    )
  }
  const scheduleRenewal = (s: Session) => renewIn((s.expiresAt - s.issuedAt) / 2)
  if (session.ok) scheduleRenewal(session)

  const initial: BoardConfig = {
    id: info.id,
    width: info.width,
    height: info.height,
    palette: info.palette,
    shardSize: info.shardSize,
    cooldownMs: info.cooldownMs,
    locked: info.locked,
  }
  const doc = new Y.Doc()
  const state = createBoardState(doc, initial)
  const stage = byId('stage')
  const view = createBoardView(stage, state.config(), state.bitmap())
  const status = createStatusBar(byId('online'), byId('connection'))
  status.setOnline(info.online)

  let selection: Point | null = null
  // The colour chosen on the last visit, if it is still in the palette.
  const stored = Number(opts.storage?.getItem(COLOR_KEY))
  let color = Number.isInteger(stored) && stored >= 0 && stored < state.config().palette.length ? stored : 0

  const inspector = createInspector(byId('inspector'), {
    fetchTile: (x, y, signal) => fetchTile(origin, boardId, x, y, signal),
    now: clock.now,
    me: () => me,
  })
  const palette = createPaletteBar(byId('palette'), (i) => selectColor(i))
  palette.setPalette(state.config().palette)
  palette.setSelected(color)
  const feedback = createFeedback(byId('feedback'))
  const placeButton = createPlaceButton(byId<HTMLButtonElement>('place'), () => void place())

  let renewedIdentity = false
  const connection = createConnection(opts.wsBase, boardId, doc, {
    onStatus: (s) => {
      status.setStatus(s, connection.closedReason())
      document.body.dataset.connection = s
      if (s === 'live') byId('loading').hidden = true
      // A forged or expired token: ask for a fresh identity once, then reconnect with it.
      if (s === 'closed' && connection.closedReason()?.code === CloseCode.Unauthorized && !renewedIdentity) {
        renewedIdentity = true
        // The cookie was refused: whatever the page remembered, a new identity is needed.
        opts.storage?.removeItem(SESSION_KEY)
        void createSession(origin, false).then((r) => {
          if (!r.ok) return
          me = r.user
          readOnly = false
          rememberSession(r)
          scheduleRenewal(r)
          connection.reconnect()
        })
      }
      renderButton()
    },
    onPresence: (n) => status.setOnline(n),
    onSession: (s) => {
      if (s.user) me = s.user
      readOnly = s.user === ''
      placer.setNextPlaceAt(s.nextPlaceAt)
    },
    onTiles: (values, from) => state.applyTiles(values, from),
    // A config that is not one changes nothing; the next sync answer carries the doc's.
    onConfig: (config) => void state.applyConfig(config),
  })
  status.setStatus(connection.status(), null)

  const placer = createPlacer({
    board: state.config,
    clock,
    send: (i) => connection.place(i.x, i.y, i.color),
    canSend: connection.canSend,
  })

  const selectedColorHex = () => state.config().palette[color] ?? '#000000'

  const buttonModel = (): PlaceButtonModel => {
    const config = state.config()
    const st = placer.state()
    if (st.kind === 'pending') return { kind: 'pending' }
    if (readOnly) return { kind: 'read-only' }
    if (config.locked) return { kind: 'locked' }
    // A running cooldown shows even while reconnecting: it is known, and it keeps running.
    const remaining = placer.nextPlaceAt() - clock.now()
    if (remaining > 0) return { kind: 'cooldown', remainingMs: remaining, totalMs: config.cooldownMs }
    if (connection.status() !== 'live') return { kind: 'offline' }
    if (!selection) return { kind: 'no-selection' }
    return { kind: 'ready', color: selectedColorHex() }
  }

  // The countdown ticks only while there is one (no timer runs on an idle page).
  let ticker: ReturnType<typeof setInterval> | null = null
  const renderButton = () => {
    const model = buttonModel()
    placeButton.render(model, formatCountdown)
    if (model.kind === 'cooldown' && !ticker) ticker = setInterval(renderButton, 250)
    if (model.kind !== 'cooldown' && ticker) {
      clearInterval(ticker)
      ticker = null
    }
  }

  const showInspector = () => {
    const c = selection ? state.colorAt(selection.x, selection.y) : undefined
    inspector.show(selection && c !== undefined ? { ...selection, color: state.config().palette[c] ?? '#000000' } : null)
  }

  const hint = byId('hint')
  const select = (tile: Point | null) => {
    selection = tile
    hint.hidden = tile !== null
    view.setSelection(tile)
    showInspector()
    if (placer.state().kind !== 'pending') placer.reset()
    renderButton()
  }

  const selectColor = (i: number) => {
    const n = state.config().palette.length
    color = ((i % n) + n) % n
    palette.setSelected(color)
    opts.storage?.setItem(COLOR_KEY, String(color))
    renderButton()
  }

  const place = async () => {
    if (!selection) return
    await placer.place({ x: selection.x, y: selection.y, color })
  }

  placer.onChange((s) => {
    feedback.render(s)
    const ghost: Ghost | null = s.kind === 'pending' ? { x: s.x, y: s.y, color: s.color, state: 'pending' } : null
    view.setGhost(ghost)
    renderButton()
  })

  state.onChange((damage, configChanged) => {
    if (configChanged) {
      view.setBoard(state.config(), state.bitmap())
      palette.setPalette(state.config().palette)
      if (color >= state.config().palette.length) selectColor(0)
      else palette.setSelected(color)
      renderButton()
    } else {
      view.damage(damage, state.bitmap())
    }
    if (selection) {
      const sel = selection
      const touched = damage.full || damage.rects.some((r) => sel.x >= r.x && sel.y >= r.y && sel.x < r.x + r.w && sel.y < r.y + r.h)
      if (touched) {
        showInspector()
        inspector.refresh()
      }
    }
  })

  attachGestures(stage, view, {
    onTap: (at) => select(tileAt(view.viewport(), view.stageSize(), view.boardSize(), at)),
  })
  attachKeyboard(window, {
    moveSelection: (dx, dy) => {
      const { width, height } = view.boardSize()
      const from = selection ??
        tileAt(view.viewport(), view.stageSize(), view.boardSize(), {
          x: view.stageSize().width / 2,
          y: view.stageSize().height / 2,
        }) ?? { x: 0, y: 0 }
      const next = selection
        ? { x: Math.min(width - 1, Math.max(0, from.x + dx)), y: Math.min(height - 1, Math.max(0, from.y + dy)) }
        : from
      select(next)
      view.setViewport(ensureTileVisible(view.viewport(), view.stageSize(), next, 48))
    },
    zoom: (factor) => {
      const v = view.viewport()
      const stageSize = view.stageSize()
      // Zoom around the selected tile's centre when there is one, else around the stage centre.
      const at = selection
        ? {
            x: (selection.x + 0.5 - v.cx) * v.scale + stageSize.width / 2,
            y: (selection.y + 0.5 - v.cy) * v.scale + stageSize.height / 2,
          }
        : { x: stageSize.width / 2, y: stageSize.height / 2 }
      view.setViewport(zoomAt(v, stageSize, factor, at, scaleLimits(view.boardSize(), stageSize)))
    },
    fit: () => view.fit(),
    cycleColor: (step) => selectColor(color + step),
    place: () => void place(),
    clearSelection: () => select(null),
  })

  const coords = byId('zoom')
  view.onViewport((v) => {
    coords.textContent = `${v.scale >= 10 ? Math.round(v.scale) : v.scale.toFixed(1)}×`
  })
  new ResizeObserver(() => view.relayout()).observe(stage)
  view.relayout()
  renderButton()

  return {
    config: state.config,
    bitmap: () => state.bitmap().slice(),
    status: connection.status,
    selection: () => selection,
    cursor: connection.cursor,
  }
}
