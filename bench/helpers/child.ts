/**
 * Load generators and in-process measurements run as child processes (never inside the relay's
 * process, never inside the runner's): a tiny request/answer protocol over Node's IPC channel.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

type Request = { id: number; name: string; args: unknown }
type Answer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string }

export type Child = {
  pid: number
  /** Runs handler `name` in the child and resolves with its result. */
  call: <T = unknown>(name: string, args?: unknown) => Promise<T>
  /** CPU time the child used so far (user + system), ms. */
  cpuMs: () => number
  stop: () => Promise<void>
}

/** Repository root (the relay and the scripts are resolved from it). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Starts bench/<script> under tsx with extra node flags and waits until it serves requests. */
export const startChild = async (script: string, opts: { nodeArgs?: string[]; env?: Record<string, string> } = {}): Promise<Child> => {
  const cp: ChildProcess = fork(fileURLToPath(new URL(`../${script}`, import.meta.url)), [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx', ...(opts.nodeArgs ?? [])],
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let nextId = 1
  let exited = false
  const ready = new Promise<void>((resolve, reject) => {
    cp.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`unexpected first message from ${script}`))))
    cp.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)))
  })
  cp.on('message', (m: Answer | 'ready') => {
    if (m === 'ready') return
    const w = waiting.get(m.id)
    if (!w) return
    waiting.delete(m.id)
    if (m.ok) w.resolve(m.result)
    else w.reject(new Error(`${script}: ${m.error}`))
  })
  cp.on('exit', (code, signal) => {
    exited = true
    for (const w of waiting.values()) w.reject(new Error(`${script} exited (${code ?? signal})`))
    waiting.clear()
  })
  await ready
  return {
    pid: cp.pid as number,
    call: <T>(name: string, args?: unknown) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
        cp.send({ id, name, args } satisfies Request)
      }),
    cpuMs: () => procCpuMs(cp.pid as number),
    stop: async () => {
      if (exited) return
      const gone = new Promise<void>((resolve) => cp.once('exit', () => resolve()))
      cp.kill('SIGTERM')
      await gone
    },
  }
}

/** Child side: registers handlers and tells the parent it is ready. */
export const serveChild = (handlers: Record<string, (args: never) => unknown>): void => {
  process.on('message', async (m: Request) => {
    try {
      const handler = handlers[m.name]
      if (!handler) throw new Error(`no handler ${m.name}`)
      const result = await handler(m.args as never)
      process.send?.({ id: m.id, ok: true, result } satisfies Answer)
    } catch (err) {
      process.send?.({ id: m.id, ok: false, error: (err as Error).stack ?? String(err) } satisfies Answer)
    }
  })
  process.on('SIGTERM', () => process.exit(0))
  process.send?.('ready')
}

/** CPU time (user + system) of a process, ms, from /proc/<pid>/stat (Linux). */
export const procCpuMs = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    // Linux reports in clock ticks of 1/100 s (USER_HZ).
    return (ticks * 1000) / 100
  } catch {
    return Number.NaN
  }
}

/** Resident set size and its peak of a process, kB, from /proc/<pid>/status (Linux). */
export const procMemKb = (pid: number): { rssKb: number; hwmKb: number } => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN)
    return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') }
  } catch {
    return { rssKb: Number.NaN, hwmKb: Number.NaN }
  }
}
