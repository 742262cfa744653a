/**
 * `npm run admin -- <command> …`: every admin action against a running relay.
 * The relay URL comes from --relay, else TESSERA_URL, else HOST and PORT as the relay reads them
 * (default http://localhost:8080); the token from --token, ADMIN_TOKEN, or DATA_DIR/admin-token
 * (--data-dir, default ./data).
 */
import { findAdminToken } from '../node-kit/admin-token.ts'
import { runCli } from '../node-kit/cli-run.ts'
import { parseFlags, parseRegion, parseTimeFlag, UsageError } from '../node-kit/flags.ts'
import { relayUrl } from './relay-url.ts'

const USAGE = `usage: npm run admin -- <command> [flags]   (global flags: --relay URL --token T --data-dir DIR --as NAME)

  board <board>                                     show a board's settings and protections
  set <board> [--cooldown-ms N] [--locked true|false] [--width N] [--height N] [--add-color #rrggbb]
  ban --user ID | --ip ADDR [--reason TEXT]         refuse placements from an identity or address;
                                                    ADDR is an IPv4/IPv6 address or a CIDR range (10.0.0.0/8)
  unban --user ID | --ip ADDR
  bans                                              list bans
  protect <board> --rect x,y,w,h                    only admins may place there
  unprotect <board> --id N
  fill <board> --rect x,y,w,h --color N             write a rectangle of one colour
  blank <board> --rect x,y,w,h                      write colour 0
  place <board> --x N --y N --color N               place without cooldown
  rollback <board> [--user ID] [--rect x,y,w,h] [--from TIME] [--to TIME]
  undo <board> --rollback N                         undo a rollback
  audit [--limit N]                                 recent admin actions, newest first
TIME is ms since 1970 or an ISO 8601 date.
The relay: --relay, else TESSERA_URL, else http://HOST:PORT as the relay reads them (localhost:8080).
The token: --token, else ADMIN_TOKEN, else DATA_DIR/admin-token (--data-dir, default ./data).`

const GLOBAL = ['relay', 'token', 'data-dir', 'as']

type Call = { method: string; path: string; body?: unknown }

const int = (flags: Map<string, string>, name: string): number => {
  const v = flags.get(name)
  if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer`)
  return Number(v)
}

const boardArg = (args: string[]): string => {
  const b = args[0]
  if (!b || b.startsWith('--')) throw new UsageError('name the board: e.g. main')
  return b
}

/** Turns a command line into one API call. */
const planCall = (command: string, args: string[]): { call: Call; flags: Map<string, string> } => {
  const positional = (n: number) => args.slice(0, n)
  const flagsOf = (known: string[], skip: number) => parseFlags(args.slice(skip), [...GLOBAL, ...known])
  switch (command) {
    case 'board': {
      const [board] = positional(1)
      return { call: { method: 'GET', path: `/boards/${boardArg([board ?? ''])}` }, flags: flagsOf([], 1) }
    }
    case 'set': {
      const board = boardArg(args)
      const flags = flagsOf(['cooldown-ms', 'locked', 'width', 'height', 'add-color'], 1)
      const body: Record<string, unknown> = {}
      if (flags.has('cooldown-ms')) body.cooldownMs = int(flags, 'cooldown-ms')
      if (flags.has('width')) body.width = int(flags, 'width')
      if (flags.has('height')) body.height = int(flags, 'height')
      if (flags.has('locked')) {
        const v = flags.get('locked')
        if (v !== 'true' && v !== 'false') throw new UsageError('--locked must be true or false')
        body.locked = v === 'true'
      }
      if (flags.has('add-color')) body.addColor = flags.get('add-color')
      if (Object.keys(body).length === 0) throw new UsageError('set needs at least one setting')
      return { call: { method: 'PATCH', path: `/boards/${board}`, body }, flags }
    }
    case 'ban':
    case 'unban': {
      const flags = flagsOf(['user', 'ip', 'reason'], 0)
      const user = flags.get('user')
      const ip = flags.get('ip')
      if ((user === undefined) === (ip === undefined)) throw new UsageError(`${command} needs --user or --ip`)
      if (command === 'unban') {
        return {
          call: {
            method: 'DELETE',
            path: user ? `/bans/user/${encodeURIComponent(user)}` : `/bans/ip/${encodeURIComponent(ip as string)}`,
          },
          flags,
        }
      }
      return { call: { method: 'POST', path: '/bans', body: { ...(user ? { user } : { ip }), reason: flags.get('reason') ?? '' } }, flags }
    }
    case 'bans':
      return { call: { method: 'GET', path: '/bans' }, flags: flagsOf([], 0) }
    case 'protect': {
      const board = boardArg(args)
      const flags = flagsOf(['rect'], 1)
      const rect = flags.get('rect')
      if (!rect) throw new UsageError('protect needs --rect x,y,w,h')
      return { call: { method: 'POST', path: `/boards/${board}/protections`, body: parseRegion(rect) }, flags }
    }
    case 'unprotect': {
      const board = boardArg(args)
      const flags = flagsOf(['id'], 1)
      return { call: { method: 'DELETE', path: `/boards/${board}/protections/${int(flags, 'id')}` }, flags }
    }
    case 'fill':
    case 'blank': {
      const board = boardArg(args)
      const flags = flagsOf(command === 'fill' ? ['rect', 'color'] : ['rect'], 1)
      const rect = flags.get('rect')
      if (!rect) throw new UsageError(`${command} needs --rect x,y,w,h`)
      const body = { ...parseRegion(rect), ...(command === 'fill' ? { color: int(flags, 'color') } : {}) }
      return { call: { method: 'POST', path: `/boards/${board}/${command}`, body }, flags }
    }
    case 'place': {
      const board = boardArg(args)
      const flags = flagsOf(['x', 'y', 'color'], 1)
      return {
        call: {
          method: 'POST',
          path: `/boards/${board}/place`,
          body: { x: int(flags, 'x'), y: int(flags, 'y'), color: int(flags, 'color') },
        },
        flags,
      }
    }
    case 'rollback': {
      const board = boardArg(args)
      const flags = flagsOf(['user', 'rect', 'from', 'to'], 1)
      const body: Record<string, unknown> = {}
      if (flags.has('user')) body.user = flags.get('user')
      if (flags.has('rect')) body.rect = parseRegion(flags.get('rect') as string)
      if (flags.has('from')) body.from = parseTimeFlag(flags.get('from') as string, 'from')
      if (flags.has('to')) body.to = parseTimeFlag(flags.get('to') as string, 'to')
      if (Object.keys(body).length === 0) throw new UsageError('rollback needs at least one of --user --rect --from --to')
      return { call: { method: 'POST', path: `/boards/${board}/rollback`, body }, flags }
    }
    case 'undo': {
      const board = boardArg(args)
      const flags = flagsOf(['rollback'], 1)
      return { call: { method: 'POST', path: `/boards/${board}/rollbacks/${int(flags, 'rollback')}/undo` }, flags }
    }
    case 'audit': {
      const flags = flagsOf(['limit'], 0)
      return { call: { method: 'GET', path: `/audit?limit=${flags.has('limit') ? int(flags, 'limit') : 50}` }, flags }
    }
    default:
      throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : 'no command given')
  }
}

/** Human-readable output of an answer. */
const show = (command: string, body: Record<string, unknown>): string => {
  switch (command) {
    case 'rollback':
    case 'undo':
      return `${command}: rollback ${body.id}, ${body.placements} placements, ${body.tiles} tiles changed`
    case 'fill':
    case 'blank':
      return `${command}: ${body.tiles} tiles changed`
    case 'audit':
      return (
        (body.entries as {
          seq: number
          at: number
          actor: string
          action: string
          board: string | null
          tiles: number
          details: unknown
        }[]) ?? []
      )
        .map(
          (e) =>
            `${e.seq}\t${new Date(e.at).toISOString()}\t${e.actor}\t${e.action}\t${e.board ?? '-'}\t${e.tiles} tiles\t${JSON.stringify(e.details)}`,
        )
        .join('\n')
    case 'bans':
      return (
        ((body.bans as { kind: string; target: string; reason: string; at: number }[]) ?? [])
          .map((b) => `${b.kind}\t${b.target}\t${new Date(b.at).toISOString()}\t${b.reason}`)
          .join('\n') || 'no bans'
      )
    default:
      return JSON.stringify(body, null, 2)
  }
}

const main = async () => {
  const [command = '', ...args] = process.argv.slice(2)
  if (command === '--help' || command === 'help' || command === '-h') {
    console.log(USAGE)
    return
  }
  const { call, flags } = planCall(command, args)
  const env = process.env
  const base = relayUrl(flags.get('relay'), env)
  const headers: Record<string, string> = {
    authorization: `Bearer ${findAdminToken(flags.get('token'), flags.get('data-dir') ?? env.DATA_DIR ?? './data', env)}`,
    'content-type': 'application/json',
  }
  const as = flags.get('as')
  if (as) headers['x-admin-name'] = as
  // "add-color" is a convenience of the CLI: the API takes the whole palette.
  if (call.method === 'PATCH' && call.body && typeof call.body === 'object' && 'addColor' in call.body) {
    const { addColor, ...rest } = call.body as Record<string, unknown>
    const current = await fetch(`${base}/api/boards/${call.path.split('/')[2]}`)
    if (!current.ok) throw new Error(`GET board: ${current.status}`)
    const palette = ((await current.json()) as { palette: string[] }).palette
    call.body = { ...rest, palette: [...palette, String(addColor).toLowerCase()] }
  }
  const init: RequestInit = { method: call.method, headers }
  if (call.body !== undefined) init.body = JSON.stringify(call.body)
  let res: Response
  try {
    res = await fetch(`${base}/api/admin${call.path}`, init)
  } catch (err) {
    throw new Error(`cannot reach the relay at ${base}: ${(err as Error).message}`)
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>
  if (!res.ok) throw new Error(`${res.status} ${body.error ?? ''}: ${body.message ?? JSON.stringify(body)}`)
  console.log(show(command, body))
}

runCli('admin', USAGE, main)
