/**
 * The board settings form: cooldown, lock, size and palette, applied live through
 * PATCH /api/admin/boards/<id> (only the fields changed are sent; the relay refuses a change that
 * would lose tiles: a smaller board, a colour removed).
 */
import type { BoardConfig } from '../../shared/board.ts'
import { byId } from '../ui/dom.ts'
import type { BoardPatch } from './admin-api.ts'
import type { PageContext } from './page-context.ts'

export const createSettingsPanel = (ctx: PageContext, current: () => BoardConfig) => {
  const form = byId<HTMLFormElement>('settings')
  const cooldown = byId<HTMLInputElement>('set-cooldown')
  const locked = byId<HTMLInputElement>('set-locked')
  const width = byId<HTMLInputElement>('set-width')
  const height = byId<HTMLInputElement>('set-height')
  const palette = byId<HTMLTextAreaElement>('set-palette')
  // Whether the moderator edited the form since it was last filled (then live changes do not overwrite it).
  let dirty = false
  form.addEventListener('input', () => {
    dirty = true
  })

  const fill = (force: boolean) => {
    if (dirty && !force) return
    const c = current()
    cooldown.value = String(c.cooldownMs / 1000)
    locked.checked = c.locked
    width.value = String(c.width)
    height.value = String(c.height)
    palette.value = c.palette.join('\n')
    dirty = false
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const c = current()
    const patch: BoardPatch = {}
    const ms = Math.round(Number(cooldown.value) * 1000)
    if (cooldown.value === '' || !Number.isFinite(ms) || ms < 0)
      return ctx.say('The cooldown must be a number of seconds, 0 or more.', 'error')
    if (ms !== c.cooldownMs) patch.cooldownMs = ms
    if (locked.checked !== c.locked) patch.locked = locked.checked
    const w = Number(width.value)
    const hh = Number(height.value)
    if (!Number.isInteger(w) || !Number.isInteger(hh)) return ctx.say('Width and height must be whole numbers of tiles.', 'error')
    if (w !== c.width) patch.width = w
    if (hh !== c.height) patch.height = hh
    const colors = palette.value
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean)
    if (colors.join(',') !== c.palette.join(',')) patch.palette = colors
    if (Object.keys(patch).length === 0) return ctx.say('Nothing to apply: the settings are as the board has them.')
    const res = await ctx.api.patchBoard(ctx.board(), patch)
    if (!res.ok) return ctx.fail(res)
    dirty = false
    ctx.say(`Settings applied to ${res.id}: ${Object.keys(patch).join(', ')}. Connected players see them now.`, 'ok')
    ctx.changed()
  })

  return { fill }
}
