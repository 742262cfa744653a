/**
 * The import rules of docs/ARCHITECTURE.md, checked over every .ts file of the repository: a
 * program that runs in production (relay, snapshotter, client, cli) imports only shared/, node-kit/
 * (the Node helpers several programs share; never the client, which runs in browsers) and its own
 * folder (so the snapshotter, the client and the CLI never import the relay); node-kit/ imports
 * only shared/ and itself; shared/ imports no program nor node-kit/ and stays pure (no node:
 * module, no package but lib0 and yjs); no two files import each other. bench/ and test/ drive
 * the programs and may import any of them.
 * Imports are read with a regular expression (static `import`/`export … from`, side-effect
 * imports and `import('…')`), relative paths resolved against the importing file.
 *
 * Known breaches are listed below by file pair, each naming the issue item that removes it: the
 * test fails on any new breach and also when a listed one is gone (so the list stays true).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SKIP = new Set(['node_modules', 'dist', 'tmp', '.git'])

/** Every .ts file under the repository, as a path relative to its root with '/' separators. */
const sourceFiles = (dir = root): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith('.') || SKIP.has(e.name)) return []
    const path = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(path)
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [relative(root, path).split('\\').join('/')] : []
  })

/** The specifiers a file imports: `import … from 'x'`, `export … from 'x'`, `import 'x'`, `import('x')`. */
const importSpecifiers = (text: string): string[] => {
  const found: string[] = []
  // Statements start a line; `[^'";]*?` spans the names of a multi-line import list.
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]/gm)) found.push(m[1] as string)
  // Dynamic imports anywhere but in comment lines.
  for (const line of text.split('\n')) {
    if (/^\s*(\/\/|\*|\/\*)/.test(line)) continue
    for (const m of line.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1] as string)
  }
  return found
}

/** What a file imports: repository files (relative, resolved) and modules (packages, node:). */
type Imports = { files: string[]; modules: string[] }

const importsOf = (file: string, text: string): Imports => {
  const files: string[] = []
  const modules: string[] = []
  for (const spec of importSpecifiers(text)) {
    if (spec.startsWith('.'))
      files.push(
        relative(root, resolve(root, dirname(file), spec.split('?')[0] as string))
          .split('\\')
          .join('/'),
      )
    else modules.push(spec)
  }
  return { files, modules }
}

/** A program's folder (the first path segment), or '' for files at the root (start.ts, configs). */
const folderOf = (file: string): string => (file.includes('/') ? (file.split('/')[0] as string) : '')

const PROGRAMS = ['relay', 'snapshotter', 'client', 'cli', 'bench', 'test'] as const
/** The programs that run in production: each imports only shared/, node-kit/ and its own folder. */
const RUN_PROGRAMS: readonly string[] = ['relay', 'snapshotter', 'client', 'cli']
/** Node helpers several programs share (log, flags, env, times, admin token): no program owns them. */
const NODE_KIT = 'node-kit'
/** The programs that run in Node and so may import node-kit/ (the client runs in browsers). */
const NODE_PROGRAMS: readonly string[] = ['relay', 'snapshotter', 'cli']
/** The packages shared/ may use: pure encodings and the CRDT (no I/O). */
const SHARED_PACKAGES = new Set(['lib0/decoding', 'lib0/encoding', 'yjs'])

/** A breach of a rule: "from -> to" (to: a file or a module). */
type Breach = string

/** Every breach of the rules in a set of files with their imports. */
const breaches = (graph: ReadonlyMap<string, Imports>): { layer: Breach[]; pure: Breach[]; pairs: Breach[] } => {
  const layer: Breach[] = []
  const pure: Breach[] = []
  const pairs: Breach[] = []
  for (const [file, { files, modules }] of graph) {
    const from = folderOf(file)
    for (const to of files) {
      const into = folderOf(to)
      // A program (bench and test aside: they drive the others) imports shared/, node-kit/ (Node
      // programs only) and its own folder.
      const kit = into === NODE_KIT && NODE_PROGRAMS.includes(from)
      if (RUN_PROGRAMS.includes(from) && into !== from && into !== 'shared' && !kit) layer.push(`${file} -> ${to}`)
      // node-kit/ serves the programs and imports none of them.
      if (from === NODE_KIT && into !== NODE_KIT && into !== 'shared') layer.push(`${file} -> ${to}`)
      if (from === 'shared' && ((PROGRAMS as readonly string[]).includes(into) || into === NODE_KIT)) layer.push(`${file} -> ${to}`)
      if (from === 'shared' && into !== 'shared') pure.push(`${file} -> ${to}`)
      // Each pair once, from its alphabetically first file.
      if (file < to && graph.get(to)?.files.includes(file)) pairs.push(`${file} <-> ${to}`)
    }
    if (from === 'shared') {
      for (const m of modules) if (!SHARED_PACKAGES.has(m)) pure.push(`${file} -> ${m}`)
    }
  }
  return { layer: layer.sort(), pure: pure.sort(), pairs: pairs.sort() }
}

/**
 * Known breaches, to be removed by issue 14 item 4 (Node helpers shared by several programs in a
 * folder of their own; export-history reading the store through one path, item 2). A listed
 * breach that no longer exists fails the test too: delete it from here.
 */
const KNOWN_LAYER_BREACHES: Breach[] = [
  // issue 14 items 2 and 4: --data-dir reads a stopped relay's store with the relay's own modules.
  'cli/export-history.ts -> relay/history-csv.ts',
  'cli/export-history.ts -> relay/history-store.ts',
  'cli/export-history.ts -> relay/identity.ts',
  // issue 14 item 4: the logger and the flag kit belong in a folder of Node helpers no program owns.
]

const graph = new Map(sourceFiles().map((f) => [f, importsOf(f, readFileSync(join(root, f), 'utf8'))]))

describe('import rules', () => {
  it('reads the imports of every program', () => {
    // The walk found the programs, and the reader sees static, multi-line and dynamic imports.
    for (const folder of ['shared', NODE_KIT, ...PROGRAMS])
      expect(
        [...graph.keys()].some((f) => f.startsWith(`${folder}/`)),
        folder,
      ).toBe(true)
    const text =
      "import {\n  a,\n  b,\n} from './a.ts'\nimport type { C } from \"../c.ts\"\nexport { d } from './d.ts'\nimport 'side'\nconst e = await import('./e.ts')\n// import('./no.ts')\n * from './nope.ts'\n"
    expect(importSpecifiers(text)).toEqual(['./a.ts', '../c.ts', './d.ts', 'side', './e.ts'])
  })

  it('finds each kind of breach (the rules can fail)', () => {
    const bad = new Map<string, Imports>([
      ['client/a.ts', { files: ['relay/room.ts', 'shared/board.ts', 'client/b.ts'], modules: [] }],
      ['bench/c.ts', { files: ['relay/room.ts'], modules: [] }],
      ['client/d.ts', { files: ['node-kit/log.ts'], modules: [] }],
      ['node-kit/e.ts', { files: ['relay/room.ts', 'shared/board.ts'], modules: ['node:fs'] }],
      ['snapshotter/f.ts', { files: ['node-kit/log.ts'], modules: [] }],
      ['shared/g.ts', { files: ['node-kit/env.ts'], modules: [] }],
      ['shared/b.ts', { files: ['snapshotter/store.ts', 'shared/c.ts'], modules: ['node:fs', 'lib0/encoding'] }],
      ['shared/c.ts', { files: ['shared/b.ts'], modules: [] }],
    ])
    expect(breaches(bad)).toEqual({
      layer: [
        'client/a.ts -> relay/room.ts',
        'client/d.ts -> node-kit/log.ts',
        'node-kit/e.ts -> relay/room.ts',
        'shared/b.ts -> snapshotter/store.ts',
        'shared/g.ts -> node-kit/env.ts',
      ],
      pure: ['shared/b.ts -> node:fs', 'shared/b.ts -> snapshotter/store.ts', 'shared/g.ts -> node-kit/env.ts'],
      pairs: ['shared/b.ts <-> shared/c.ts'],
    })
  })

  it('keeps each program to its own folder, shared/ and node-kit/ (the snapshotter, client and CLI off the relay), and shared/ off every program', () => {
    expect(breaches(graph).layer).toEqual(KNOWN_LAYER_BREACHES)
  })

  it('keeps shared/ pure: only shared/ files, lib0 encodings and yjs', () => {
    expect(breaches(graph).pure).toEqual([])
  })

  it('keeps shared/ off runtime globals (sockets, timers)', () => {
    // shared/ compiles with neither DOM nor Node types: globalThis is its only way to a socket
    // or a timer, so a code line naming it marks I/O in the pure model.
    const reaching = [...graph.keys()]
      .filter((f) => folderOf(f) === 'shared')
      .filter((f) =>
        readFileSync(join(root, f), 'utf8')
          .split('\n')
          .some((line) => !/^\s*(\/\/|\*|\/\*)/.test(line) && /\bglobalThis\b/.test(line)),
      )
    expect(reaching).toEqual([])
  })

  it('has no two files that import each other', () => {
    expect(breaches(graph).pairs).toEqual([])
  })
})
