/** The bans (global, every board): listed with a Remove button each, and a form to add one. */
import { byId, h } from '../ui/dom.ts'
import { formatTime, type PageContext } from './page-context.ts'

export const createBansPanel = (ctx: PageContext) => {
  const list = byId('bans')
  const form = byId<HTMLFormElement>('ban-form')
  const kind = byId<HTMLSelectElement>('ban-kind')
  const target = byId<HTMLInputElement>('ban-target')
  const reason = byId<HTMLInputElement>('ban-reason')

  const refresh = async () => {
    const res = await ctx.api.bans()
    if (!res.ok) return ctx.fail(res)
    if (res.bans.length === 0) {
      list.replaceChildren(h('li', { class: 'note' }, 'Nobody is banned.'))
      return
    }
    list.replaceChildren(
      ...res.bans.map((b) => {
        const remove = h('button', { type: 'button', class: 'small', 'aria-label': `Remove the ban of ${b.target}` }, 'Remove')
        remove.addEventListener('click', async () => {
          remove.disabled = true
          const r = await ctx.api.unban(b.kind, b.target)
          remove.disabled = false
          if (!r.ok) return ctx.fail(r)
          ctx.say(`The ban of ${b.kind === 'ip' ? 'address' : 'user'} ${b.target} is removed.`, 'ok')
          ctx.changed()
          await refresh()
        })
        const why = b.reason ? ` (“${b.reason}”)` : ''
        return h('li', {}, `${b.kind === 'ip' ? 'Address' : 'User'} `, h('code', {}, b.target), `${why} since ${formatTime(b.at)} `, remove)
      }),
    )
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const value = target.value.trim()
    if (!value) return ctx.say('Give the user id or the address to ban.', 'error')
    const res = await ctx.api.ban(kind.value === 'ip' ? { ip: value } : { user: value }, reason.value.trim())
    if (!res.ok) return ctx.fail(res)
    ctx.say(`Banned ${res.ban.kind === 'ip' ? 'address' : 'user'} ${res.ban.target} on every board.`, 'ok')
    target.value = ''
    reason.value = ''
    ctx.changed()
    await refresh()
  })

  return { refresh }
}
