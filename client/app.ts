/**
 * The client, composed: the last board seen (IndexedDB) or the latest snapshot PNG painted first,
 * then the board over our own WebSocket client (a sync answer or a since= catch-up, then Tiles and
 * Config frames) into a bitmap, the canvas view, input, and the HUD. Data flow (docs/CLIENT.md):
 *
 *   IndexedDB board ──┐ (returning)        snapshot PNG + state vector (first visit)
 *                     ▼                    ▼
 *   relay ══ live=tiles socket ══ connection ── board-sync ── board-state (bitmap + damage) ── board-view
 *   palette/tile/Place ── placer (shared rules) ── Place frame ──► relay ── PlaceResult ──► HUD
 */
import { BOARD_ID_PATTERN, type BoardConfig } from '../shared/board.ts'
import { CloseCode, newPlacementId } from '../shared/protocol.ts'
import { attachGestures } from './input/gestures.ts'
import { attachKeyboard } from './input/keyboard.ts'
import { tapAction, viewForKeyboardSelection } from './input/tap-zoom.ts'
import { createBoardView, type Ghost } from './render/board-view.ts'
import { type Point, scaleLimits, tileAt, type Viewport, zoomAt } from './render/viewport.ts'
import { fetchTile } from './sync/api.ts'
import { boardInfoPatiently } from './sync/board-info-patiently.ts'
import { createBoardSaver } from './sync/board-saver.ts'
import { boardConfigOf, createBoardState, type VersionedConfig } from './sync/board-state.ts'
import { createBoardSync, type SyncBasis } from './sync/board-sync.ts'
import { createRelayClock } from './sync/clock.ts'
import { boardSocketUrl, browserEnv, type Connection, type ConnectionStatus, createConnection } from './sync/connection.ts'
import { openEarlySocket } from './sync/early-socket.ts'
import { createIdentityKeeper } from './sync/identity-keeper.ts'
import { createInFlight } from './sync/in-flight.ts'
import { createBoardImageKeeper } from './sync/kept-image.ts'
import { createPlacer } from './sync/placement.ts'
import { createQueueRunner } from './sync/queue-runner.ts'
import { snapshotInstead } from './sync/start-again.ts'
import { gatherStartSources } from './sync/start-sources.ts'
import { createBoardDescription } from './ui/board-description.ts'
import { holdBoardPreview } from './ui/board-preview.ts'
import { createCooldownAlert } from './ui/cooldown-alert.ts'
import { byId } from './ui/dom.ts'
import { sentence, showFatal } from './ui/fatal-page.ts'
import { createFeedback } from './ui/feedback.ts'
import { afterNextFrame, markFirstPaint, markLive } from './ui/first-frames.ts'
import { formatAsOf, formatCountdown } from './ui/format.ts'
import { createInspector } from './ui/inspector.ts'
import { createMinimap } from './ui/minimap.ts'
import { createPaletteBar } from './ui/palette-bar.ts'
import { createPlaceButton } from './ui/place-button.ts'
import { placeButtonModel } from './ui/place-button-model.ts'
import { createQueuePrompt, queueNoteText } from './ui/queue-prompt.ts'
import { createStatusBar } from './ui/status-bar.ts'
import { attachViewMemory } from './ui/view-memory.ts'
import { attachViewTools } from './ui/view-tools.ts'

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

/** Where the first paint came from. */
export type BoardSource = 'stored' | 'snapshot' | 'sync'

/** Read-only view of the client's state for tests and the console (window.__tessera). */
export type DebugHook = {
  config: () => BoardConfig
  /** A copy of the bitmap (row-major colour indices). */
  bitmap: () => Uint8Array
  status: () => string
  selection: () => Point | null
  /** The last history seq the bitmap holds (null while it is unknown: syncing). */
  cursor: () => number | null
  /** Where the board first painted came from. */
  source: () => BoardSource
  /** When the board shown was last known current (ms), or null while live. */
  asOf: () => number | null
  /** The board point at the stage's centre (tiles) and the zoom (CSS px per tile). */
  viewport: () => Viewport
}

/** The board id in a page URL (?board=<id>), or 'main'. Null if it is not a valid id. */
export const boardIdFrom = (search: string): string | null => {
  const id = new URLSearchParams(search).get('board') ?? 'main'
  return BOARD_ID_PATTERN.test(id) ? id : null
}

const COLOR_KEY = 'tessera.color'
/** Milliseconds between two saves of the board to IndexedDB while it changes (and on pagehide). */
const SAVE_EVERY_MS = 5000

export const startApp = async (opts: AppOptions): Promise<DebugHook | null> => {
  const { origin, boardId } = opts
  if (boardId === null) {
    showFatal('That is not a board id', 'Board ids are 1 to 64 characters of a-z, 0-9, _ and -.')
    return null
  }
  byId('board-name').textContent = boardId
  document.title = `${boardId} · Tessera`

  // The identity (client/sync/identity-keeper.ts): a returning one is renewed at once, a new one
  // is asked for once the board is live. Everything else the start needs is asked at once
  // (client/sync/start-sources.ts).
  let connection: Connection | null = null
  const identity = createIdentityKeeper({
    origin,
    storage: opts.storage,
    connection: () => connection,
    changed: () => renderButton(),
  })
  performance.mark('tessera:start')
  const start = await gatherStartSources(origin, boardId, opts.storage)
  const { boardAsked, stored, snapshotOf } = start
  let snapshotAsked = start.snapshotAsked

  const clock = createRelayClock()
  let online: number | null = null
  let initial: VersionedConfig
  let earlySocket: typeof WebSocket | null = null
  if (stored) {
    // Offline, or the relay down: the stored config stands in for the board's info (below).
    initial = stored.config
  } else {
    // A first visit needs the board's info; without it, keep asking (with backoff) until the relay answers.
    const asked = await boardInfoPatiently(origin, boardId, boardAsked, (failure) => {
      showFatal('Cannot reach the board', `${sentence(failure.message)} Trying again on its own…`)
      return true
    })
    const info = asked.result
    performance.mark('tessera:board-info')
    if (!info.ok) {
      showFatal(`No board named “${boardId}”`, 'Check the address, or ask whoever runs this relay which boards it serves.')
      return null
    }
    byId('fatal').hidden = true
    // The relay was unreachable at load: ask for the snapshot the answer names.
    if (!(await boardAsked).result.ok) snapshotAsked = snapshotOf(info)
    if (asked.date !== null) clock.observeCoarse(asked.date, Date.now())
    online = info.online
    initial = { board: boardConfigOf(info), version: 0 }
    // The catch-up after the snapshot asked for now, while its PNG is fetched and decoded
    // (client/sync/early-socket.ts); the connection takes this socket once the board is loaded.
    const seq = info.snapshot?.seq
    if (seq !== undefined && seq !== null) earlySocket = openEarlySocket(boardSocketUrl(opts.wsBase, boardId, seq))
  }

  const state = createBoardState(initial)
  let source: BoardSource = 'sync'
  let basis: SyncBasis = { kind: 'blank' }
  if (stored) {
    state.load(stored.bitmap, stored.width, stored.height)
    basis = { kind: 'since', cursor: stored.cursor }
    source = 'stored'
  }
  const stage = byId('stage')
  // A first visit paints nothing until its snapshot is in (below): the preview covers the canvas.
  const view = createBoardView(stage, state.config(), stored ? state.bitmap() : null)
  const preview = holdBoardPreview(view.canvas)
  // Issue 12: the grid, the hovered tile's coordinates, the board's accessible name and description.
  const tools = attachViewTools(stage, view, { gridButton: byId<HTMLButtonElement>('grid-toggle'), coords: byId('coords') }, opts.storage)
  const description = createBoardDescription(view.canvas, stage)
  description.setBoard(boardId, state.config().width, state.config().height)
  const cooldownAlert = createCooldownAlert(byId<HTMLButtonElement>('alert-toggle'), opts.storage, boardId)
  const minimap = createMinimap(byId('minimap'), view)
  if (stored) {
    byId('loading').hidden = true
    markFirstPaint(preview.retire)
  }
  const status = createStatusBar(byId('online'), byId('connection'))
  if (online !== null) status.setOnline(online)
  if (stored) {
    void boardAsked.then(({ result, date }) => {
      if (date !== null) clock.observeCoarse(date, Date.now())
      if (result.ok) status.setOnline(result.online)
      else if (result.status === 404)
        showFatal(`No board named “${boardId}”`, 'It was here on your last visit; the relay no longer serves it.')
    })
  }
  if (!stored) {
    const snapshot = await snapshotAsked
    if (snapshot) {
      state.load(snapshot.bitmap, snapshot.width, snapshot.height)
      view.setBoard(state.config(), state.bitmap())
      basis = snapshot.basis
      source = 'snapshot'
      byId('loading').hidden = true
      markFirstPaint(preview.retire)
    } else {
      // No snapshot (a new board, or none readable): the blank board, until the sync fills it.
      view.setBoard(state.config(), state.bitmap())
    }
  }
  const sync = createBoardSync(state, basis)
  // When the board shown was last known current (ms): the stored board's save time until live.
  let asOf: number | null = stored ? stored.savedAt : null
  const asOfPill = byId('as-of')
  const renderAsOf = () => {
    asOfPill.hidden = asOf === null
    asOfPill.textContent = asOf === null ? '' : formatAsOf(asOf, Date.now())
  }
  renderAsOf()

  const connectionStatus = (): ConnectionStatus => connection?.status() ?? (navigator.onLine === false ? 'offline' : 'connecting')

  let selection: Point | null = null
  // The colour chosen on the last visit, if it is still in the palette.
  const storedColor = Number(opts.storage?.getItem(COLOR_KEY))
  let color = Number.isInteger(storedColor) && storedColor >= 0 && storedColor < state.config().palette.length ? storedColor : 0

  const inspector = createInspector(byId('inspector'), {
    fetchTile: (x, y, signal) => fetchTile(origin, boardId, x, y, signal),
    now: clock.now,
    me: identity.me,
  })
  const palette = createPaletteBar(byId('palette'), (i) => selectColor(i))
  palette.setPalette(state.config().palette)
  palette.setSelected(color)
  const feedback = createFeedback(byId('feedback'))
  const placeButton = createPlaceButton(byId<HTMLButtonElement>('place'), () => void place())

  // The board's image for the next visit's first frame (client/sync/kept-image.ts), with each save.
  const imageKeeper = createBoardImageKeeper(boardId, opts.storage, origin)
  // Saving the board to IndexedDB: at most every SAVE_EVERY_MS while it changes, and when the
  // page is hidden or left. Only a consistent board is kept: one whose cursor is known.
  const saver = createBoardSaver({
    store: start.storeOpened,
    key: boardId,
    state,
    cursor: sync.cursor,
    lastLiveAt: () => connection?.lastLiveAt() ?? null,
    everyMs: SAVE_EVERY_MS,
    onSave: () => {
      start.markKept()
      imageKeeper.keep(state.config(), state.bitmap())
    },
  })
  const save = saver.save
  window.addEventListener('pagehide', save)
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') save()
  })

  const onStatus = (s: ConnectionStatus) => {
    // A status emitted while createConnection is still running is reported once it returns.
    const c = connection
    if (!c) return
    status.setStatus(s, c.closedReason())
    document.body.dataset.connection = s
    if (s === 'live') {
      markLive()
      // After the frame that shows the live board: a first visit's proof of work would hold it back.
      afterNextFrame(identity.live)
      byId('loading').hidden = true
      // A page that painted no board before (no snapshot, no stored board) shows its canvas now.
      requestAnimationFrame(preview.retire)
      // Caught up: the queued placement's tile colour is current, so it can be judged and sent.
      queue.flush()
      asOf = null
    } else if (asOf === null) asOf = c.lastLiveAt()
    renderAsOf()
    // A forged or expired token: ask for a fresh identity once, then reconnect with it.
    if (s === 'closed' && c.closedReason()?.code === CloseCode.Unauthorized) identity.refused()
    renderButton()
  }
  const startConnection = () => {
    connection = createConnection(
      opts.wsBase,
      boardId,
      sync,
      {
        onStatus,
        onPresence: (n) => status.setOnline(n),
        onSession: (s) => {
          identity.sessionFrame(s)
          placer.setNextPlaceAt(s.nextPlaceAt)
          queue.flush()
          renderButton()
        },
        onBoardFrame: saver.changed,
      },
      earlySocket ? { ...browserEnv(), WebSocket: earlySocket } : undefined,
    )
    onStatus(connection.status())
  }
  status.setStatus(connectionStatus(), null)
  document.body.dataset.connection = connectionStatus()

  const placer = createPlacer({
    board: state.config,
    clock,
    send: (i, id) => connection?.place(i.x, i.y, i.color, id) ?? Promise.resolve({ kind: 'lost' }),
    canSend: () => connection?.canSend() ?? false,
  })

  // The offline queue (issue 12, client/sync/queue-runner.ts): every placement goes through it;
  // one placement per board is kept in localStorage while the board is not live, drawn as a
  // 'queued' ghost, and sent once live (or put to the person if its tile changed meanwhile).
  const queue = createQueueRunner({
    boardId,
    storage: opts.storage,
    placer,
    clock,
    board: state.config,
    live: () => connection?.canSend() ?? false,
    colorAt: state.colorAt,
    newId: () => newPlacementId((b) => crypto.getRandomValues(b)),
    onStorageChange: (listener) => window.addEventListener('storage', (e) => listener(e.key)),
  })
  const queuePrompt = createQueuePrompt(byId('feedback'), { keep: () => queue.keep(), drop: () => queue.drop() })
  const inFlight = createInFlight(state.colorAt)
  /** The feedback line and the ghost: a placement in flight first, else the queue's news. */
  const renderPlacement = () => {
    const s = placer.state()
    const { entry, note } = queue.view()
    if (s.kind !== 'pending' && note) {
      const said = queueNoteText(note)
      feedback.say(said.text, said.tone, `queue-${note.kind}`)
    } else feedback.render(s)
    queuePrompt.render(s.kind === 'pending' ? null : note)
    const flying = inFlight.of(s)
    const ghost: Ghost | null = flying
      ? { ...flying, state: 'pending' }
      : entry
        ? { x: entry.x, y: entry.y, color: entry.color, state: 'queued' }
        : null
    view.setGhost(ghost)
    renderButton()
  }
  queue.onChange(renderPlacement)

  const selectedColorHex = () => state.config().palette[color] ?? '#000000'

  const buttonModel = () =>
    placeButtonModel({
      pending: placer.state().kind === 'pending',
      identityPending: identity.pending(),
      readOnly: identity.readOnly(),
      banned: identity.banned(),
      locked: state.config().locked,
      remainingMs: placer.nextPlaceAt() - clock.now(),
      cooldownMs: state.config().cooldownMs,
      status: connectionStatus(),
      selected: selection !== null,
      color: selectedColorHex(),
    })

  // The countdown ticks only while there is one (no timer runs on an idle page).
  let ticker: ReturnType<typeof setInterval> | null = null
  const renderButton = () => {
    cooldownAlert.update(placer.nextPlaceAt(), clock.now())
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
    description.setSelection(selection && c !== undefined ? { ...selection, color: state.config().palette[c] ?? '#000000' } : null)
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
    await queue.place({ x: selection.x, y: selection.y, color })
  }

  placer.onChange(renderPlacement)

  state.onChange((damage, configChanged) => {
    minimap.damaged()
    if (inFlight.boardChanged()) renderPlacement()
    if (configChanged) {
      view.setBoard(state.config(), state.bitmap())
      description.setBoard(boardId, state.config().width, state.config().height)
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
    onTap: (at) => {
      const action = tapAction(view.viewport(), view.stageSize(), view.boardSize(), at, scaleLimits(view.boardSize(), view.stageSize()))
      if (action.kind === 'zoom') view.setViewport(action.viewport)
      else select(action.tile)
    },
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
      view.setViewport(viewForKeyboardSelection(view.viewport(), view.stageSize(), next, 48))
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
    chooseColor: (i) => {
      if (i < state.config().palette.length) selectColor(i)
    },
    toggleGrid: tools.toggleGrid,
  })

  const coords = byId('zoom')
  view.onViewport((v) => {
    coords.textContent = `${v.scale >= 10 ? Math.round(v.scale) : v.scale.toFixed(1)}×`
  })
  new ResizeObserver(() => view.relayout()).observe(stage)
  view.relayout()
  attachViewMemory(view, boardId, opts.storage)
  // Draws a placement queued on an earlier visit (and the button).
  renderPlacement()

  // The socket opens at once. A returning identity's cookie is presented as it is (renewed
  // meanwhile); a first visit's socket is anonymous (read-only) until its identity is made, then
  // reconnects (a since= catch-up of what it missed: a few bytes).
  void (async () => {
    if (stored) {
      // Catching up from the stored board may cost more than starting from the latest snapshot.
      const again = await snapshotInstead({ origin, boardId, cursor: stored.cursor, boardAsked })
      if (again) {
        // The change listener above redraws the board (and the palette, when it changed).
        const { snapshot, board } = again
        state.load(snapshot.bitmap, snapshot.width, snapshot.height, { board, version: state.version() })
        sync.rebase(snapshot.basis)
        source = 'snapshot'
      }
    }
    startConnection()
  })()

  return {
    config: state.config,
    bitmap: () => state.bitmap().slice(),
    status: connectionStatus,
    selection: () => selection,
    cursor: sync.cursor,
    source: () => source,
    asOf: () => asOf,
    viewport: view.viewport,
  }
}
