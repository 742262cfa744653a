/** The protected areas of the board shown: listed with a Remove button each, and drawn over the board. */
import { byId, h } from '../ui/dom.ts'
import type { Protection } from './admin-api.ts'
import { formatTime, type PageContext } from './page-context.ts'

export const createProtectionsPanel = (ctx: PageContext, draw: (list: readonly Protection[]) => void) => {
  const list = byId('protections')
  const render = (protections: readonly Protection[]) => {
    draw(protections)
    if (protections.length === 0) {
      list.replaceChildren(h('li', { class: 'note' }, 'No protected areas on this board.'))
      return
    }
    list.replaceChildren(
      ...protections.map((p) => {
        const remove = h('button', { type: 'button', class: 'small', 'aria-label': `Remove protection #${p.id}` }, 'Remove')
        remove.addEventListener('click', async () => {
          remove.disabled = true
          const res = await ctx.api.unprotect(ctx.board(), p.id)
          remove.disabled = false
          if (!res.ok) return ctx.fail(res)
          ctx.say(`Protection #${p.id} removed: everyone can place there again.`, 'ok')
          ctx.changed()
        })
        return h('li', { 'data-protection': p.id }, `#${p.id}: ${p.w}×${p.h} at ${p.x},${p.y} since ${formatTime(p.at)} `, remove)
      }),
    )
  }
  return {
    /** Lists them again from the relay. */
    refresh: async () => {
      const board = ctx.board()
      const res = await ctx.api.board(board)
      if (board !== ctx.board()) return
      if (!res.ok) return ctx.fail(res)
      render(res.protections)
    },
  }
}
