/**
 * One embedded board (docs/EMBEDDING.md), the core of both embeds: the <tessera-board> element
 * (client/embed/tessera-board.ts) and the /embed page, which holds one such element
 * (client/embed-page.ts). It composes the app's own parts, not copies: the stored board
 * (IndexedDB) or the snapshot painted at once, then the same exact sync over a live=tiles socket
 * (sync/board-sync.ts, sync/connection.ts, sync/board-state.ts), the canvas view and gestures
 * (render/board-view.ts, input/gestures.ts), the shared placement rules (sync/placement.ts), the
 * palette bar and the Place button (ui/).
 *
 * What differs from the app: no cookie. The identity is a token held in memory only (never a
 * cookie, never storage): a host's signed token exchanged at POST /api/session {"hostToken"},
 * or, without one, an anonymous identity (proof of work, {"cookie": false}); the socket presents
 * it as a subprotocol. The region (client/embed/region.ts) bounds what is shown and where
 * placing is allowed; the host's place() and its refusals: client/embed/embed-place.ts. No
 * keyboard shortcuts (the host page owns the keys), no offline queue
 * (a placement while offline is refused with 'offline'), no inspector (tessera-select carries
 * the tile's placer instead).
 */
import type { BoardConfig, SnapshotSummary } from '../../shared/board.ts'
import type { Rect } from '../../shared/placement.ts'
import { CloseCode } from '../../shared/protocol.ts'
import { attachGestures } from '../input/gestures.ts'
import { tapAction } from '../input/tap-zoom.ts'
import { type BoardView, createBoardView } from '../render/board-view.ts'
import { scaleLimits } from '../render/viewport.ts'
import { fetchBoard, fetchTile } from '../sync/api.ts'
import { boardInfoPatiently } from '../sync/board-info-patiently.ts'
import { createBoardSaver } from '../sync/board-saver.ts'
import { boardConfigOf, createBoardState, type VersionedConfig } from '../sync/board-state.ts'
import { type BoardStore, openBoardStore, type StoredBoard } from '../sync/board-store.ts'
import { createBoardSync, type SyncBasis } from '../sync/board-sync.ts'
import { createRelayClock } from '../sync/clock.ts'
import { type Connection, type ConnectionStatus, createConnection } from '../sync/connection.ts'
import { createInFlight } from '../sync/in-flight.ts'
import { createPlacer, type PlacementState } from '../sync/placement.ts'
import { loadSnapshot } from '../sync/snapshot-load.ts'
import { snapshotInstead } from '../sync/start-again.ts'
import { h } from '../ui/dom.ts'
import { formatCountdown } from '../ui/format.ts'
import { createPaletteBar } from '../ui/palette-bar.ts'
import { createPlaceButton, type PlaceButtonModel } from '../ui/place-button.ts'
import { EmbedEvent } from './embed-events.ts'
import { createEmbedIdentity } from './embed-identity.ts'
import { createEmbedPlace, type EmbedPlace } from './embed-place.ts'
import { clampRegion, copyIntoRegion, inRegion, regionDamage } from './region.ts'

export type EmbedOptions = {
  /** The relay's HTTP origin, e.g. "https://place.example" (no trailing slash). */
  origin: string
  /** WebSocket base, e.g. "wss://place.example/ws". */
  wsBase: string
  boardId: string
  readonly: boolean
  /** region="x,y,w,h" parsed (client/embed/region.ts); null = the whole board. */
  region: Rect | null
  /** Whether the palette bar and Place button show (never when readonly). */
  paletteBar: boolean
  /** The first view: board tile at the centre and zoom (CSS px per tile); the region fitted when absent. */
  view: { x: number | null; y: number | null; zoom: number | null }
  /** The host-signed token (JWT), or null. */
  hostToken: string | null
}

export type BoardEmbed = {
  place: EmbedPlace['place']
  /** Selects board tile (x, y) (ignored outside the region); emits tessera-select. */
  select: (x: number, y: number) => void
  /** Centres the view on board tile (x, y) at `zoom` CSS px per tile (each optional). */
  view: (v: { x?: number; y?: number; zoom?: number }) => void
  /** A new host token (after the host's sign-in), or null (sign-out): re-exchanged, socket reopened. */
  setHostToken: (token: string | null) => void
  status: () => ConnectionStatus
  /** The colour index of board tile (x, y) as shown, or undefined (outside the board or region, or not loaded). */
  colorAt: (x: number, y: number) => number | undefined
  /** The identity the socket places as (relay user id, and the host's name for it), or null. */
  identity: () => { user: string; name: string | null } | null
  destroy: () => void
}

/** Milliseconds between two saves of the board to IndexedDB while it changes. */
const SAVE_EVERY_MS = 5000

export const createBoardEmbed = (root: ShadowRoot, opts: EmbedOptions, emit: (type: EmbedEvent, detail: unknown) => void): BoardEmbed => {
  const { origin, boardId } = opts
  const interactive = !opts.readonly
  const stage = h('div', { class: 'stage', part: 'stage' })
  const loading = h('div', { class: 'loading' }, 'Loading board…')
  const statusPill = h('span', { class: 'pill connection', 'data-status': 'connecting', role: 'status' }, 'Connecting…')
  const message = h('div', { class: 'message', hidden: true, role: 'alert' })
  stage.append(loading, statusPill, message)
  const paletteEl = h('div', { class: 'palette' })
  const placeEl = h('button', { class: 'place', type: 'button', disabled: true })
  const dock = h('div', { class: 'embed-dock', part: 'dock', hidden: !(interactive && opts.paletteBar) }, paletteEl, placeEl)
  const frame = h('div', { class: 'embed' }, stage, dock)
  root.append(frame)

  let destroyed = false
  const cleanups: (() => void)[] = []
  let status: ConnectionStatus = 'connecting'
  let connection: Connection | null = null
  let view: BoardView | null = null
  let region: Rect = { x: 0, y: 0, w: 0, h: 0 }
  let regionBitmap = new Uint8Array(0)
  let selection: { x: number; y: number } | null = null
  let color = 0
  let hostToken = opts.hostToken

  const clock = createRelayClock()
  let state: ReturnType<typeof createBoardState> | null = null

  const setStatus = (s: ConnectionStatus) => {
    status = s
    statusPill.dataset.status = s
    statusPill.textContent =
      s === 'live' ? 'Live' : s === 'closed' ? 'Closed' : s === 'offline' ? 'Offline' : `${s[0]?.toUpperCase()}${s.slice(1)}…`
    emit(EmbedEvent.Status, { status: s })
    wake()
    renderButton()
  }
  const say = (text: string | null) => {
    message.hidden = text === null
    message.textContent = text ?? ''
  }

  const placer = createPlacer({
    board: () => (state as NonNullable<typeof state>).config(),
    clock,
    send: (i, id) => connection?.place(i.x, i.y, i.color, id) ?? Promise.resolve({ kind: 'lost' }),
    canSend: () => connection?.canSend() ?? false,
  })

  // The identity, in memory only (client/embed/embed-identity.ts).
  const identity = createEmbedIdentity(origin, {
    onIdentity: () => {
      say(null)
      connection?.reconnect()
      renderButton()
    },
    onRefused: (detail) => {
      emit(EmbedEvent.Rejected, detail)
      say(`Read-only: ${detail.message}`)
      renderButton()
      wake()
    },
  })
  /** Asks for the identity the socket will present; reopens the socket with it. */
  const acquireIdentity = () => {
    if (interactive && !destroyed) identity.acquire(hostToken)
  }

  // place() for the host page (client/embed/embed-place.ts).
  const { place, wake } = createEmbedPlace({
    interactive,
    placer,
    identity,
    live: () => (connection?.canSend() ?? false) && connection?.status() === 'live',
    region: () => (state ? region : null),
    destroyed: () => destroyed,
    emit,
  })

  const buttonModel = (): PlaceButtonModel => {
    const st = placer.state()
    if (st.kind === 'pending') return { kind: 'pending' }
    if (!interactive || !identity.token()) return { kind: 'read-only' }
    if (!state) return { kind: 'offline', noNetwork: false }
    if (state.config().locked) return { kind: 'locked' }
    const remaining = placer.nextPlaceAt() - clock.now()
    if (remaining > 0) return { kind: 'cooldown', remainingMs: remaining, totalMs: state.config().cooldownMs }
    if (status !== 'live') return { kind: 'offline', noNetwork: status === 'offline' }
    if (!selection) return { kind: 'no-selection' }
    return { kind: 'ready', color: state.config().palette[color] ?? '#000000' }
  }
  const placeButton = createPlaceButton(placeEl, () => {
    if (selection) void place({ ...selection, color }).catch(() => {})
  })
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
  const palette = createPaletteBar(paletteEl, (i) => {
    color = i
    palette.setSelected(i)
    renderButton()
  })

  // Pending, or acknowledged and not on the board yet (client/sync/in-flight.ts).
  const inFlight = createInFlight((x, y) => state?.colorAt(x, y))
  const drawGhost = (s: PlacementState) => {
    const g = inFlight.of(s)
    if (!view) return
    view.setGhost(g ? { x: g.x - region.x, y: g.y - region.y, color: g.color, state: 'pending' } : null)
  }
  placer.onChange((s) => {
    drawGhost(s)
    renderButton()
  })

  const select = (x: number, y: number) => {
    if (!state || !view || !inRegion(region, x, y)) return
    selection = { x, y }
    view.setSelection({ x: x - region.x, y: y - region.y })
    renderButton()
    const index = state.colorAt(x, y) ?? 0
    void fetchTile(origin, boardId, x, y).then((t) => {
      if (destroyed) return
      const named = t.ok ? (t as { name?: unknown }).name : undefined
      emit(EmbedEvent.Select, {
        x,
        y,
        color: t.ok ? t.color : index,
        hex: state?.config().palette[t.ok ? t.color : index] ?? null,
        placer: t.ok ? t.user : null,
        name: typeof named === 'string' ? named : null,
        placedAt: t.ok ? t.placedAt : null,
      })
    })
  }

  const setView = (v: { x?: number; y?: number; zoom?: number }) => {
    if (!view) return
    const cur = view.viewport()
    view.setViewport({
      cx: v.x !== undefined ? v.x - region.x + 0.5 : cur.cx,
      cy: v.y !== undefined ? v.y - region.y + 0.5 : cur.cy,
      scale: v.zoom !== undefined && v.zoom > 0 ? v.zoom : cur.scale,
    })
  }

  /** The region's board as the view is given it: the region's size, the board's palette. */
  const regionConfig = (c: BoardConfig): BoardConfig => ({ ...c, width: region.w, height: region.h })
  const recrop = () => {
    const s = state as NonNullable<typeof state>
    const c = s.config()
    region = clampRegion(opts.region, c.width, c.height)
    regionBitmap = new Uint8Array(region.w * region.h)
    copyIntoRegion(s.bitmap(), c.width, region, regionBitmap, region)
  }

  const start = async () => {
    // The identity is asked at once (a proof of work takes a moment); the socket opens read-only
    // meanwhile and is reopened with it.
    acquireIdentity()
    // The board kept from an earlier visit, per relay and board (not the app's own records).
    const storeKey = `${origin}#${boardId}`
    const boardAsked = fetchBoard(origin, boardId)
    const store: BoardStore | null = await openBoardStore()
    const stored: StoredBoard | null = (await store?.load(storeKey)) ?? null
    let initial: VersionedConfig
    // The board's info names the latest snapshot (and the seq it stands at).
    let snapshotSummary: SnapshotSummary | null = null
    if (stored) initial = stored.config
    else {
      const asked = await boardInfoPatiently(origin, boardId, boardAsked, () => {
        if (!destroyed) setStatus(navigator.onLine === false ? 'offline' : 'connecting')
        return !destroyed
      })
      if (destroyed) return
      const info = asked.result
      if (!info.ok) {
        say(`No board named “${boardId}” on this relay`)
        loading.hidden = true
        emit(EmbedEvent.Rejected, { code: info.error, message: info.message })
        return
      }
      if (asked.date !== null) clock.observeCoarse(asked.date, Date.now())
      initial = { board: boardConfigOf(info), version: 0 }
      snapshotSummary = info.snapshot ?? null
    }
    if (destroyed) return
    const s = createBoardState(initial)
    state = s
    let basis: SyncBasis = { kind: 'blank' }
    let source = 'sync'
    if (stored) {
      s.load(stored.bitmap, stored.width, stored.height)
      basis = { kind: 'since', cursor: stored.cursor }
      source = 'stored'
    } else {
      const snapshot = snapshotSummary ? await loadSnapshot(origin, boardId, snapshotSummary) : null
      if (destroyed) return
      if (snapshot) {
        s.load(snapshot.bitmap, snapshot.width, snapshot.height)
        basis = snapshot.basis
        source = 'snapshot'
      }
    }
    recrop()
    const v = createBoardView(stage, regionConfig(s.config()), regionBitmap)
    view = v
    palette.setPalette(s.config().palette)
    palette.setSelected(color)
    const resize = new ResizeObserver(() => v.relayout())
    resize.observe(stage)
    cleanups.push(() => resize.disconnect())
    v.relayout()
    if (opts.view.x !== null || opts.view.y !== null || opts.view.zoom !== null) {
      setView({
        ...(opts.view.x !== null ? { x: opts.view.x } : { x: region.x + region.w / 2 - 0.5 }),
        ...(opts.view.y !== null ? { y: opts.view.y } : { y: region.y + region.h / 2 - 0.5 }),
        ...(opts.view.zoom !== null ? { zoom: opts.view.zoom } : {}),
      })
    }
    cleanups.push(
      attachGestures(stage, v, {
        onTap: (at) => {
          const action = tapAction(v.viewport(), v.stageSize(), v.boardSize(), at, scaleLimits(v.boardSize(), v.stageSize()))
          if (action.kind === 'zoom') v.setViewport(action.viewport)
          else if (action.tile) select(action.tile.x + region.x, action.tile.y + region.y)
        },
      }),
    )

    s.onChange((damage, configChanged) => {
      if (inFlight.boardChanged()) drawGhost(placer.state())
      if (configChanged) {
        recrop()
        v.setBoard(regionConfig(s.config()), regionBitmap)
        palette.setPalette(s.config().palette)
        if (color >= s.config().palette.length) color = 0
        palette.setSelected(color)
        renderButton()
        return
      }
      const seen = regionDamage(damage, region)
      if (!seen) return
      for (const part of seen.board) copyIntoRegion(s.bitmap(), s.config().width, region, regionBitmap, part)
      v.damage(seen.view, regionBitmap)
    })

    // Painted (stored board or snapshot); a board with neither is painted once the sync answers.
    let ready = false
    const announce = () => {
      if (ready) return
      ready = true
      loading.hidden = true
      emit(EmbedEvent.Ready, { board: boardId, width: s.config().width, height: s.config().height, region: { ...region }, source })
    }
    if (source !== 'sync') announce()

    const sync = createBoardSync(s, basis)
    const saver = createBoardSaver({
      store,
      key: storeKey,
      state: s,
      cursor: sync.cursor,
      lastLiveAt: () => connection?.lastLiveAt() ?? null,
      everyMs: SAVE_EVERY_MS,
    })
    cleanups.push(() => {
      saver.stop()
      saver.save()
    })

    if (stored) {
      // As the app: catching up from the stored board may cost more than starting again from the
      // latest snapshot (far behind, or the relay's data reset).
      const again = await snapshotInstead({ origin, boardId, cursor: stored.cursor, boardAsked })
      if (destroyed) return
      if (again) {
        // The change listener above redraws the region (and the palette, when it changed).
        const { snapshot, board } = again
        s.load(snapshot.bitmap, snapshot.width, snapshot.height, { board, version: s.version() })
        sync.rebase(snapshot.basis)
      }
    }

    let renewedAfterRefusal = false
    // Read-only at once; the socket is reopened with the identity when it arrives.
    connection = createConnection(
      opts.wsBase,
      boardId,
      sync,
      {
        onStatus: (st) => {
          if (st === 'live') {
            announce()
            renewedAfterRefusal = false
            // The identity could not be asked (no network at start): ask again now the relay answers.
            if (identity.refusal()?.code === 'network') acquireIdentity()
          }
          setStatus(st)
          // The token was refused (expired, say): ask for an identity again, once per identity.
          if (st === 'closed' && connection?.closedReason()?.code === CloseCode.Unauthorized && identity.token() && !renewedAfterRefusal) {
            renewedAfterRefusal = true
            acquireIdentity()
          }
        },
        onBoardFrame: saver.changed,
        onSession: (session) => {
          if (session.user === '' && identity.token()) return
          placer.setNextPlaceAt(session.nextPlaceAt)
          wake()
        },
      },
      undefined,
      () => identity.protocols(),
    )
    setStatus(connection.status())
  }

  renderButton()
  void start()

  return {
    place,
    select,
    view: setView,
    setHostToken: (t) => {
      if (t === hostToken) return
      hostToken = t
      acquireIdentity()
    },
    status: () => status,
    colorAt: (x, y) =>
      state && region.w > 0 && inRegion(region, x, y) ? regionBitmap[(y - region.y) * region.w + (x - region.x)] : undefined,
    identity: identity.me,
    destroy: () => {
      destroyed = true
      identity.forget()
      for (const c of cleanups) c()
      if (ticker) clearInterval(ticker)
      connection?.destroy()
      wake()
      frame.remove()
    },
  }
}
