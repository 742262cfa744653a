/**
 * The area panel: a rectangle (dragged on the board with the area tool, or typed) to protect,
 * blank or fill, and a rollback by user and time range (optionally limited to the rectangle),
 * previewed over the board before it is applied, and undone on request.
 */
import type { Rect } from '../../shared/placement.ts'
import { byId } from '../ui/dom.ts'
import type { RollbackFilter } from './admin-api.ts'
import type { AreaOverlay } from './area-overlay.ts'
import type { PageContext } from './page-context.ts'

export type AreaTools = {
  /** The board's rectangle selected (from a drag). */
  select: (rect: Rect) => void
  /** The palette changed (the fill colour list follows). */
  setPalette: (palette: readonly string[]) => void
  /** A user id to roll back (from a tile's history). */
  setUser: (user: string) => void
  /** Forgets the selection and any preview (another board). */
  reset: () => void
}

/** A datetime-local value (local time, to the second) as ms; `end`: the last ms of that second. */
const timeOf = (value: string, end: boolean): number | undefined => {
  if (!value) return undefined
  const ms = new Date(value).getTime()
  if (Number.isNaN(ms)) return undefined
  return end && ms % 1000 === 0 ? ms + 999 : ms
}

export const createAreaTools = (ctx: PageContext, overlay: () => AreaOverlay | null): AreaTools => {
  const input = (id: string) => byId<HTMLInputElement>(id)
  const [ax, ay, aw, ah] = ['area-x', 'area-y', 'area-w', 'area-h'].map(input) as [
    HTMLInputElement,
    HTMLInputElement,
    HTMLInputElement,
    HTMLInputElement,
  ]
  const fillColor = byId<HTMLSelectElement>('fill-color')
  const user = input('rb-user')
  const from = input('rb-from')
  const to = input('rb-to')
  const inArea = input('rb-in-area')
  const summary = byId('rb-summary')
  const buttons = {
    protect: byId<HTMLButtonElement>('protect'),
    blank: byId<HTMLButtonElement>('blank'),
    fill: byId<HTMLButtonElement>('fill'),
    preview: byId<HTMLButtonElement>('rb-preview'),
    apply: byId<HTMLButtonElement>('rb-apply'),
    cancel: byId<HTMLButtonElement>('rb-cancel'),
    undo: byId<HTMLButtonElement>('rb-undo'),
  }
  // The filter whose preview is drawn; applied as previewed, never as edited since.
  let previewed: RollbackFilter | null = null
  let lastRollback: { board: string; id: number } | null = null

  const area = (): Rect | null => {
    const [x, y, w, h] = [ax, ay, aw, ah].map((i) => Number(i.value))
    if (![ax, ay, aw, ah].every((i) => i.value !== '') || ![x, y, w, h].every((n) => Number.isInteger(n))) return null
    return { x: x as number, y: y as number, w: w as number, h: h as number }
  }
  const needArea = (): Rect | null => {
    const r = area()
    if (!r) ctx.say('Select an area first: turn on “Select area” and drag over the board, or type x, y, width and height.', 'error')
    return r
  }
  for (const i of [ax, ay, aw, ah]) i.addEventListener('input', () => overlay()?.setArea(area()))

  /** Runs one call with the buttons disabled, so that a double click does not send it twice. */
  const busy = async (fn: () => Promise<void>) => {
    const all = Object.values(buttons)
    for (const b of all) b.disabled = true
    try {
      await fn()
    } finally {
      for (const b of all) b.disabled = false
    }
  }
  const describeRect = (r: Rect) => `${r.w}×${r.h} at ${r.x},${r.y}`

  buttons.protect.addEventListener('click', () => {
    const r = needArea()
    if (!r) return
    void busy(async () => {
      const res = await ctx.api.protect(ctx.board(), r)
      if (!res.ok) return ctx.fail(res)
      ctx.say(`Protected ${describeRect(r)} (protection #${res.protection.id}): only admins can place there now.`, 'ok')
      ctx.changed()
    })
  })
  buttons.blank.addEventListener('click', () => {
    const r = needArea()
    if (!r) return
    void busy(async () => {
      const res = await ctx.api.blank(ctx.board(), r)
      if (!res.ok) return ctx.fail(res)
      ctx.say(`Blanked ${describeRect(r)}: ${res.tiles} tiles changed.`, 'ok')
      ctx.changed()
    })
  })
  buttons.fill.addEventListener('click', () => {
    const r = needArea()
    if (!r) return
    const color = Number(fillColor.value)
    void busy(async () => {
      const res = await ctx.api.fill(ctx.board(), r, color)
      if (!res.ok) return ctx.fail(res)
      ctx.say(`Filled ${describeRect(r)} with colour ${color}: ${res.tiles} tiles changed.`, 'ok')
      ctx.changed()
    })
  })

  const clearPreview = () => {
    previewed = null
    overlay()?.setPreview(null, [])
    buttons.apply.hidden = true
    buttons.cancel.hidden = true
  }

  const filter = (): RollbackFilter | null => {
    const f: RollbackFilter = {}
    if (user.value.trim()) f.user = user.value.trim()
    const fromMs = timeOf(from.value, false)
    const toMs = timeOf(to.value, true)
    if ((from.value && fromMs === undefined) || (to.value && toMs === undefined)) {
      ctx.say('“Placed from” and “Placed until” must be valid times (or empty).', 'error')
      return null
    }
    if (fromMs !== undefined) f.from = fromMs
    if (toMs !== undefined) f.to = toMs
    if (inArea.checked) {
      const r = area()
      if (r) f.rect = r
    }
    if (f.user === undefined && f.from === undefined && f.to === undefined && f.rect === undefined) {
      ctx.say('Give a user, a time range or an area to roll back: a rollback of everything is not allowed.', 'error')
      return null
    }
    return f
  }

  buttons.preview.addEventListener('click', () => {
    const f = filter()
    if (!f) return
    void busy(async () => {
      const res = await ctx.api.previewRollback(ctx.board(), f)
      if (!res.ok) return ctx.fail(res)
      previewed = f
      overlay()?.setPreview(res.changes, ctx.palette())
      const listed = res.truncated ? ` (the first ${res.changes.length} are drawn)` : ''
      summary.textContent =
        res.tiles === 0
          ? `Nothing to change: ${res.placements} placements match, and rolling them back leaves every tile as it is.`
          : `Rolling back would undo ${res.placements} placements and change ${res.tiles} tiles${listed}, drawn over the board with magenta outlines. Apply or cancel.`
      buttons.apply.hidden = false
      buttons.cancel.hidden = false
    })
  })
  buttons.cancel.addEventListener('click', () => {
    clearPreview()
    summary.textContent = 'Rollback cancelled: nothing was changed.'
  })
  buttons.apply.addEventListener('click', () => {
    const f = previewed
    if (!f) return
    const board = ctx.board()
    void busy(async () => {
      const res = await ctx.api.rollback(board, f)
      if (!res.ok) return ctx.fail(res)
      clearPreview()
      lastRollback = { board, id: res.id }
      buttons.undo.hidden = false
      buttons.undo.textContent = `Undo rollback #${res.id}`
      summary.textContent = `Rollback #${res.id} applied: ${res.placements} placements undone, ${res.tiles} tiles changed.`
      ctx.say(summary.textContent, 'ok')
      ctx.changed()
    })
  })
  buttons.undo.addEventListener('click', () => {
    const last = lastRollback
    if (!last) return
    void busy(async () => {
      const res = await ctx.api.undo(last.board, last.id)
      if (!res.ok) return ctx.fail(res)
      lastRollback = null
      buttons.undo.hidden = true
      summary.textContent = `Rollback #${last.id} undone: ${res.tiles} tiles changed back.`
      ctx.say(summary.textContent, 'ok')
      ctx.changed()
    })
  })

  const setPalette = (palette: readonly string[]) => {
    const keep = fillColor.value
    fillColor.replaceChildren(
      ...palette.map((c, i) => {
        const o = document.createElement('option')
        o.value = String(i)
        o.textContent = `${i}: ${c}`
        return o
      }),
    )
    // The colour chosen stays chosen while it is still in the palette (palettes only grow).
    fillColor.value = keep !== '' && Number(keep) < palette.length ? keep : '0'
  }

  return {
    select: (r) => {
      ax.value = String(r.x)
      ay.value = String(r.y)
      aw.value = String(r.w)
      ah.value = String(r.h)
      overlay()?.setArea(r)
    },
    setPalette,
    setUser: (u) => {
      user.value = u
    },
    reset: () => {
      clearPreview()
      for (const i of [ax, ay, aw, ah]) i.value = ''
      overlay()?.setArea(null)
      summary.textContent = ''
      lastRollback = null
      buttons.undo.hidden = true
    },
  }
}
