/** The audit log, latest first, refreshed on a timer and after every action; a rollback's entry offers its undo. */
import { byId, h } from '../ui/dom.ts'
import type { AuditEntry } from './admin-api.ts'
import { formatTime, type PageContext } from './page-context.ts'

/** Entries shown. */
const AUDIT_LIMIT = 50

/** An entry's details in a line (JSON without the braces' noise, cut at 200 characters). */
const detailsOf = (e: AuditEntry): string => {
  const text = e.details === null || e.details === undefined ? '' : JSON.stringify(e.details)
  return text.length > 200 ? `${text.slice(0, 199)}…` : text
}

export const createAuditLog = (ctx: PageContext) => {
  const list = byId('audit')
  let shown = ''
  const refresh = async () => {
    const res = await ctx.api.audit(AUDIT_LIMIT)
    if (!res.ok) return ctx.fail(res)
    // Redrawn only when it changed, so that a moderator's focus on a button is not lost every 5 s.
    const key = res.entries.map((e) => e.seq).join(',')
    if (key === shown) return
    shown = key
    if (res.entries.length === 0) {
      list.replaceChildren(h('li', { class: 'note' }, 'Nothing done yet.'))
      return
    }
    list.replaceChildren(
      ...res.entries.map((e) => {
        const rollbackId = e.action === 'rollback' ? (e.details as { rollback?: unknown } | null)?.rollback : undefined
        const extra: Node[] = []
        if (typeof rollbackId === 'number' && e.board) {
          const board = e.board
          const undo = h('button', { type: 'button', class: 'small' }, `Undo #${rollbackId}`)
          undo.addEventListener('click', async () => {
            undo.disabled = true
            const r = await ctx.api.undo(board, rollbackId)
            undo.disabled = false
            if (!r.ok) return ctx.fail(r)
            ctx.say(`Rollback #${rollbackId} undone: ${r.tiles} tiles changed back.`, 'ok')
            ctx.changed()
          })
          extra.push(undo)
        }
        return h(
          'li',
          { 'data-action': e.action, 'data-seq': e.seq },
          h('time', { datetime: new Date(e.at).toISOString() }, formatTime(e.at)),
          ' ',
          h('strong', {}, e.action),
          ` by ${e.actor}${e.board ? ` on ${e.board}` : ''}${e.tiles ? `, ${e.tiles} tiles` : ''} `,
          h('code', {}, detailsOf(e)),
          ' ',
          ...extra,
        )
      }),
    )
  }
  return { refresh }
}
