/** The tile history panel: a clicked tile's placements, newest first, with a shortcut to roll back their author. */
import { byId, h } from '../ui/dom.ts'
import { formatTime, type PageContext } from './page-context.ts'

/** Placements shown per tile. */
const HISTORY_LIMIT = 20

export const createTileHistory = (ctx: PageContext, useUser: (user: string) => void) => {
  const list = byId('tile-history')
  const none = byId('tile-none')
  const title = byId('tile-title')
  let asked = 0
  return {
    show: async (x: number, y: number) => {
      const mine = ++asked
      title.textContent = `Tile history: ${x}, ${y}`
      const res = await ctx.api.tileHistory(ctx.board(), x, y, HISTORY_LIMIT)
      if (mine !== asked) return
      if (!res.ok) return ctx.fail(res)
      none.hidden = res.placements.length > 0
      none.textContent = 'Nobody placed on this tile yet.'
      list.replaceChildren(
        ...res.placements.map((p) => {
          const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' })
          swatch.style.background = ctx.palette()[p.color] ?? 'transparent'
          const use = h('button', { type: 'button', class: 'small' }, 'Roll back this user…')
          use.addEventListener('click', () => useUser(p.user))
          return h(
            'li',
            { 'data-user': p.user, class: p.rolledBack ? 'rolled-back' : undefined },
            swatch,
            ` colour ${p.color} by `,
            h('code', {}, p.user),
            ` at ${formatTime(p.placedAt)}${p.rolledBack ? ' (rolled back)' : ''} `,
            ...(p.user.startsWith('@') ? [] : [use]),
          )
        }),
      )
    },
    clear: () => {
      asked++
      title.textContent = 'Tile history'
      none.hidden = false
      none.textContent = 'Click a tile on the board.'
      list.replaceChildren()
    },
  }
}
