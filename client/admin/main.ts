/**
 * The moderation page (/admin): log in with the admin token (kept in sessionStorage, this tab
 * only), pick a board, and moderate it through the admin API (docs/PROTOCOL.md "Admin API").
 * Entry point: wires the parts; each lives in its own file.
 */
import type { BoardInfo } from '../../shared/board.ts'
import { byId } from '../ui/dom.ts'
import { type AdminApi, createAdminApi, describeError } from './admin-api.ts'
import { createAreaOverlay } from './area-overlay.ts'
import { createAreaTools } from './area-tools.ts'
import { createAuditLog } from './audit-log.ts'
import { createBansPanel } from './bans-panel.ts'
import { type LiveBoard, startLiveBoard } from './live-board.ts'
import type { PageContext } from './page-context.ts'
import { createProtectionsPanel } from './protections-panel.ts'
import { createSettingsPanel } from './settings-panel.ts'
import { createTileHistory } from './tile-history.ts'

/** sessionStorage key of the admin token: gone when the tab closes. */
const TOKEN_KEY = 'tessera.admin-token'
/** sessionStorage key of the moderator's name for the audit log. */
const NAME_KEY = 'tessera.admin-name'
/** How often the counts and the audit log are read again, in ms. */
const REFRESH_MS = 5_000

const wsBase = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`
const storage = (() => {
  try {
    return window.sessionStorage
  } catch {
    return null
  }
})()

const message = byId('message')
const say = (text: string, kind: 'ok' | 'error' = 'ok') => {
  message.hidden = false
  message.dataset.kind = kind
  message.textContent = text
}

const loginForm = byId<HTMLFormElement>('login')
const tokenInput = byId<HTMLInputElement>('token')
const picker = byId<HTMLSelectElement>('board-select')
const online = byId('online')
const rate = byId('rate')
const connection = byId('connection')

const start = async (api: AdminApi) => {
  const boards = await api.boards()
  if (!boards.ok) return say(describeError(boards), 'error')
  if (boards.boards.length === 0) return say('This relay has no boards.', 'error')
  document.body.dataset.state = 'ready'
  loginForm.hidden = true
  byId('work').hidden = false
  byId('logout').hidden = false
  byId('board-picker').hidden = false
  picker.replaceChildren(
    ...boards.boards.map((b) => {
      const o = document.createElement('option')
      o.value = b.id
      o.textContent = `${b.id} (${b.width}×${b.height})`
      return o
    }),
  )
  const wanted = new URLSearchParams(location.search).get('board')
  picker.value = boards.boards.some((b) => b.id === wanted) ? (wanted as string) : (boards.boards[0] as BoardInfo).id

  const stage = byId('stage')
  let live: LiveBoard | null = null
  const ctx: PageContext = {
    api,
    board: () => picker.value,
    palette: () => live?.state.config().palette ?? [],
    say,
    fail: (e) => {
      say(describeError(e), 'error')
      if (e.error === 'unauthorized' || e.error === 'forbidden') logout()
    },
    changed: () => {
      void audit.refresh()
      void protections.refresh()
      void counts()
    },
  }
  const audit = createAuditLog(ctx)
  const bans = createBansPanel(ctx)
  let overlay: ReturnType<typeof createAreaOverlay> | null = null
  const protections = createProtectionsPanel(ctx, (list) => overlay?.setProtections(list))
  let tools: ReturnType<typeof createAreaTools> | null = null
  const history = createTileHistory(ctx, (user) => {
    tools?.setUser(user)
    byId<HTMLInputElement>('rb-user').focus()
  })
  const settings = createSettingsPanel(ctx, () => (live as LiveBoard).state.config())
  const areaButton = byId<HTMLButtonElement>('area-tool')
  const setSelecting = (on: boolean) => {
    areaButton.setAttribute('aria-pressed', String(on))
    overlay?.setSelecting(on)
    byId('hint').textContent = on
      ? 'Drag over the board to select an area; scroll to zoom. Turn “Select area” off to pan.'
      : 'Drag to pan, scroll to zoom, click a tile for its history.'
  }
  areaButton.addEventListener('click', () => setSelecting(areaButton.getAttribute('aria-pressed') !== 'true'))
  byId('fit').addEventListener('click', () => live?.view.fit())

  const counts = async () => {
    const a = await api.activity(ctx.board())
    if (!a.ok) return
    online.textContent = `${a.online} online`
    rate.textContent = `${a.placementsPerMinute}${a.capped ? '+' : ''} placements/min`
  }

  const show = async (id: string) => {
    const info = await api.board(id)
    if (!info.ok) return say(describeError(info), 'error')
    live?.destroy()
    stage.replaceChildren()
    history.clear()
    const url = new URL(location.href)
    url.searchParams.set('board', id)
    window.history.replaceState(null, '', url)
    live = startLiveBoard(stage, info, wsBase, {
      onTile: (t) => void history.show(t.x, t.y),
      onStatus: (s) => {
        document.body.dataset.connection = s
        connection.textContent = s === 'live' ? 'Live' : `${s.charAt(0).toUpperCase()}${s.slice(1)}…`
      },
      onPresence: (n) => {
        online.textContent = `${n} online`
      },
      onChange: (configChanged) => {
        if (!configChanged) return
        tools?.setPalette(ctx.palette())
        settings.fill(false)
        overlay?.redraw()
      },
    })
    overlay = createAreaOverlay(stage, live.view, (r) => tools?.select(r))
    tools ??= createAreaTools(ctx, () => overlay)
    tools.reset()
    tools.setPalette(info.palette)
    setSelecting(areaButton.getAttribute('aria-pressed') === 'true')
    settings.fill(true)
    void protections.refresh()
    void counts()
  }
  picker.addEventListener('change', () => void show(picker.value))
  await show(picker.value)
  void bans.refresh()
  void audit.refresh()
  setInterval(() => {
    void counts()
    void audit.refresh()
  }, REFRESH_MS)
}

const logout = () => {
  storage?.removeItem(TOKEN_KEY)
  storage?.removeItem(NAME_KEY)
  location.reload()
}
byId('logout').addEventListener('click', logout)

const login = async (token: string, name: string) => {
  const api = createAdminApi('', token, name)
  const checked = await api.check()
  if (!checked.ok) {
    storage?.removeItem(TOKEN_KEY)
    say(
      checked.error === 'forbidden' || checked.error === 'unauthorized'
        ? 'That is not the admin token of this relay. Copy it again from DATA_DIR/admin-token.'
        : describeError(checked),
      'error',
    )
    return
  }
  storage?.setItem(TOKEN_KEY, token)
  storage?.setItem(NAME_KEY, name)
  message.hidden = true
  await start(api)
}

loginForm.addEventListener('submit', (e) => {
  e.preventDefault()
  const token = tokenInput.value.trim()
  tokenInput.value = ''
  if (token) void login(token, byId<HTMLInputElement>('admin-name').value)
})

const kept = storage?.getItem(TOKEN_KEY)
if (kept) void login(kept, storage?.getItem(NAME_KEY) ?? '')
