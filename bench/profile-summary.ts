/**
 * Summarises a V8 CPU profile (node --cpu-prof): self time per function and the inclusive time of
 * the functions that matter to the relay. Usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]
 * `npm run bench -- --profile --only=ingest` writes the relay's profiles to bench/results/profiles/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[]; hitCount?: number }
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/**
 * tsx compiles each .ts file to one line with `__name(fn, "name")` wrappers, so V8 reports its
 * functions as anonymous at line 1. tsx keeps its output and source map in tmpdir()/tsx-<uid>/:
 * map a column back to the original line, and name the function by what that line declares.
 */
const tsxSourceMaps = (): Map<string, { map: SourceMap; lines: string[] }> => {
  const out = new Map<string, { map: SourceMap; lines: string[]; mtime: number }>()
  const dir = join(tmpdir(), `tsx-${process.getuid?.() ?? 0}`)
  if (!existsSync(dir)) return out
  for (const name of readdirSync(dir)) {
    try {
      const entry = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { map?: { sources: string[] } }
      const source = entry.map?.sources[0]
      if (!source || !existsSync(source)) continue
      // The cache keeps every version of a file: take the newest (profile soon after the run).
      const mtime = statSync(join(dir, name)).mtimeMs
      if ((out.get(source)?.mtime ?? -1) > mtime) continue
      out.set(source, { map: new SourceMap(entry.map as never), lines: readFileSync(source, 'utf8').split('\n'), mtime })
    } catch {
      // not a tsx cache entry
    }
  }
  return out
}

const DECLARES = /(?:const|let|function)\s+([A-Za-z_$][\w$]*)|([A-Za-z_$][\w$]*)\s*[:=(]\s*(?:async\s*)?(?:\(|function)/

export const summarise = (profile: Profile, top = 25): string => {
  const maps = tsxSourceMaps()
  for (const n of profile.nodes) {
    const f = n.callFrame as Node['callFrame'] & { columnNumber: number }
    if (f.functionName || !f.url.endsWith('.ts')) continue
    const m = maps.get(f.url.startsWith('file://') ? fileURLToPath(f.url) : f.url)
    const hit = m?.map.findEntry(f.lineNumber, f.columnNumber) as { originalLine?: number } | undefined
    if (!m || hit?.originalLine === undefined) continue
    const text = m.lines[hit.originalLine] ?? ''
    const d = DECLARES.exec(text)
    f.functionName = d?.[1] ?? d?.[2] ?? `line ${hit.originalLine + 1}`
    f.lineNumber = hit.originalLine
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0)
  const label = (n: Node) => {
    const file = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(relay|shared|bench)\//, '$1/')
    return `${n.callFrame.functionName || '(anonymous)'} ${file ? `${file}:${n.callFrame.lineNumber + 1}` : ''}`.trim()
  }
  const self = new Map<string, number>()
  const incl = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const n = byId.get(id) as Node
    self.set(label(n), (self.get(label(n)) ?? 0) + us)
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur) as Node)
      if (seen.has(l)) continue
      seen.add(l)
      incl.set(l, (incl.get(l) ?? 0) + us)
    }
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([l, us]) => `${pct(us)}  ${l}`)
  return [`total sampled ${(total / 1e6).toFixed(2)} s`, '-- self --', ...rows(self), '-- inclusive --', ...rows(incl)].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top] = process.argv.slice(2)
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]')
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(top ?? 25)))
}
