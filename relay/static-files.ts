/**
 * The built client (STATIC_DIR), served precompressed and with validators. The build
 * (vite.config.ts, precompress) writes `<file>.br` and `<file>.gz` beside every compressible
 * file; a request gets the variant its Accept-Encoding prefers (br, then gzip, then the file as
 * it is), with Content-Encoding, `Vary: Accept-Encoding` and the variant's Content-Length. Every
 * answer carries a strong ETag (a content hash, computed once per file version and cached) and
 * a matching If-None-Match is answered 304. Vite names the files under assets/ by their content
 * hash: they are cached for a year, immutable; everything else (index.html, sw.js, the manifest)
 * revalidates on every use (no-cache), so that a new build reaches browsers at once. A page's
 * inline scripts (the app's board preview, client/index.html) are allowed by their hashes: the
 * page's headers are made knowing them (`'sha256-…'` CSP sources, computed once per file version).
 */
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import { HttpError } from './http-util.ts'

/** The content codings the relay serves, with the suffix of their precompressed files. */
export const ContentCoding = { Brotli: 'br', Gzip: 'gzip', Identity: 'identity' } as const
export type ContentCoding = (typeof ContentCoding)[keyof typeof ContentCoding]

/** Suffix of a precompressed variant of each coding (written by the build). */
export const VARIANT_SUFFIX = { br: '.br', gzip: '.gz' } as const

/** The relay's preference when the client's q values tie: smallest first. */
const PREFERENCE: readonly ContentCoding[] = [ContentCoding.Brotli, ContentCoding.Gzip, ContentCoding.Identity]

/** Cache-Control of the content-hashed files under assets/ (one year) and of everything else. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable'
export const REVALIDATE_CACHE = 'no-cache'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
}

/**
 * Accept-Encoding as a map from coding (lower case; `x-gzip` read as gzip) to its q value
 * (RFC 9110 12.5.3: 0..1, 1 if absent). A malformed q counts as 0 (not acceptable).
 */
export const parseAcceptEncoding = (header: string | undefined): Map<string, number> => {
  const codings = new Map<string, number>()
  if (!header) return codings
  for (const part of header.split(',')) {
    const [name, ...params] = part.split(';').map((s) => s.trim())
    if (!name) continue
    let q = 1
    for (const p of params) {
      const m = /^q\s*=\s*(.*)$/i.exec(p)
      if (!m) continue
      const v = m[1] as string
      q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v) ? Number(v) : 0
    }
    const coding = name.toLowerCase() === 'x-gzip' ? ContentCoding.Gzip : name.toLowerCase()
    // A coding listed twice: the higher q wins (browsers never do this; be lenient).
    codings.set(coding, Math.max(q, codings.get(coding) ?? 0))
  }
  return codings
}

/**
 * The coding to answer with, among those `available` (identity always is): the client's highest
 * q value above 0, ties broken by br > gzip > identity. No Accept-Encoding: identity (RFC 9110
 * allows any, but an old client without the header may not decode). `*` stands for codings not
 * listed. Identity is chosen when nothing acceptable is available, even if refused (`identity;q=0`):
 * the RFC allows that, and an error page helps no one.
 */
export const pickCoding = (header: string | undefined, available: ReadonlySet<ContentCoding>): ContentCoding => {
  if (header === undefined) return ContentCoding.Identity
  const codings = parseAcceptEncoding(header)
  const star = codings.get('*')
  const qOf = (c: ContentCoding): number => {
    const q = codings.get(c)
    if (q !== undefined) return q
    if (star !== undefined) return star
    // Identity unlisted is acceptable, below any listed coding (RFC 9110 gives it no q); other
    // codings only if listed.
    return c === ContentCoding.Identity ? Number.MIN_VALUE : 0
  }
  let best: ContentCoding = ContentCoding.Identity
  let bestQ = 0
  for (const c of PREFERENCE) {
    if (c !== ContentCoding.Identity && !available.has(c)) continue
    const q = qOf(c)
    if (q > bestQ) {
      best = c
      bestQ = q
    }
  }
  return best
}

/**
 * Whether If-None-Match matches an entity tag: `*`, or any listed tag equal to it under the
 * weak comparison (RFC 9110 13.1.2: W/ prefixes ignored).
 */
export const noneMatch = (header: string | undefined, etag: string): boolean => {
  if (!header) return false
  if (header.trim() === '*') return true
  const bare = etag.replace(/^W\//, '')
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare)
}

/**
 * The CSP sources (`'sha256-<base64>'`, CSP3 hash-source) of a page's inline scripts: the text
 * between `<script>` and `</script>` of each script without a src, as UTF-8, in page order.
 */
export const inlineScriptHashes = (html: string): string[] => {
  const hashes: string[] = []
  for (const m of html.matchAll(/<script(\s[^>]*)?>([\s\S]*?)<\/script>/gi)) {
    if (/\ssrc\s*=/i.test(m[1] ?? '')) continue
    hashes.push(
      `'sha256-${createHash('sha256')
        .update(m[2] ?? '', 'utf8')
        .digest('base64')}'`,
    )
  }
  return hashes
}

/** What the headers of a page (an HTML file) may depend on. */
export type PageFacts = {
  /** The CSP sources of its inline scripts (inlineScriptHashes). */
  scriptHashes: readonly string[]
}

/** One file as served: its versions' sizes and tags, valid while its size and mtime hold. */
type FileInfo = {
  size: number
  mtimeMs: number
  /** Content hash of the file (base64url, 22 characters of SHA-256). */
  hash: string
  /** Precompressed variants that are current (not older than the file). */
  variants: Map<ContentCoding, { path: string; size: number }>
  /** For an HTML file, what its headers depend on; null for other files. */
  page: PageFacts | null
}

/** Files known per path; bounded by the files in STATIC_DIR (only existing files enter). */
export type StaticFiles = {
  /** Answers a GET or HEAD for a path outside /api. Throws HttpError 404 when there is nothing to serve. */
  serve: (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    /** Headers of an HTML answer (CSP and so on), made from what the page holds. */
    pageHeaders: (page: PageFacts) => Record<string, string>,
    extraHeaders?: Record<string, string>,
  ) => void
}

const isFile = (path: string) => {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

export const createStaticFiles = (root: string | null): StaticFiles => {
  const known = new Map<string, FileInfo>()

  /** The file's info, recomputed (hash and variants) only when its size or mtime changed. */
  const infoOf = (path: string): FileInfo => {
    const st = statSync(path)
    const cached = known.get(path)
    if (cached && cached.size === st.size && cached.mtimeMs === st.mtimeMs) return cached
    const bytes = readFileSync(path)
    const hash = createHash('sha256').update(bytes).digest('base64url').slice(0, 22)
    const variants = new Map<ContentCoding, { path: string; size: number }>()
    for (const coding of [ContentCoding.Brotli, ContentCoding.Gzip] as const) {
      const vpath = path + VARIANT_SUFFIX[coding]
      try {
        const vst = statSync(vpath)
        // A variant older than its file was made from an earlier version of it: not served.
        if (vst.isFile() && vst.mtimeMs >= st.mtimeMs) variants.set(coding, { path: vpath, size: vst.size })
      } catch {
        // No variant of this coding: the file is sent as it is.
      }
    }
    const page = extname(path) === '.html' ? { scriptHashes: inlineScriptHashes(bytes.toString('utf8')) } : null
    const info = { size: st.size, mtimeMs: st.mtimeMs, hash, variants, page }
    known.set(path, info)
    return info
  }

  const serve: StaticFiles['serve'] = (req, res, url, pageHeaders, extraHeaders = {}) => {
    if (!root || !existsSync(root) || (req.method !== 'GET' && req.method !== 'HEAD')) {
      throw new HttpError(404, 'not-found', root ? `no file ${url.pathname}` : 'this relay serves no client')
    }
    let rel: string
    try {
      rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '')
    } catch {
      throw new HttpError(400, 'bad-request', 'the path is not valid')
    }
    let file = join(root, rel)
    if (!file.startsWith(root + sep) && file !== root) throw new HttpError(404, 'not-found', 'no such file')
    // Hashed assets never fall back to the page: a missing one is a 404, not index.html cached for a year.
    const asset = rel.startsWith(`assets${sep}`) || rel.startsWith('assets/')
    // A clean URL of a page: /embed is embed.html.
    if (!isFile(file) && rel !== '' && isFile(`${file}.html`)) file = `${file}.html`
    if (!isFile(file)) {
      if (asset) throw new HttpError(404, 'not-found', `no file ${url.pathname}`)
      // A folder's index.html, or the app's (client-side routes).
      const index = join(file, 'index.html')
      file = isFile(index) ? index : join(root, 'index.html')
      if (!isFile(file)) throw new HttpError(404, 'not-found', `no file ${url.pathname}`)
    }
    const info = infoOf(file)
    const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream'
    const coding = pickCoding(req.headers['accept-encoding'], new Set(info.variants.keys()))
    const variant = coding === ContentCoding.Identity ? undefined : info.variants.get(coding)
    // A strong tag per representation: the same file's brotli and gzip bytes differ.
    const etag = `"${info.hash}${variant ? `-${coding}` : ''}"`
    const headers: Record<string, string | number> = {
      ...(info.page ? pageHeaders(info.page) : {}),
      ...extraHeaders,
      'cache-control': asset ? IMMUTABLE_CACHE : REVALIDATE_CACHE,
      etag,
      vary: 'Accept-Encoding',
    }
    if (noneMatch(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers)
      res.end()
      return
    }
    res.writeHead(200, {
      ...headers,
      'content-type': type,
      'content-length': variant ? variant.size : info.size,
      ...(variant ? { 'content-encoding': coding } : {}),
    })
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    // A file removed since its stat (a rebuild in place): the answer is cut short, not a crash.
    createReadStream(variant ? variant.path : file)
      .on('error', () => res.destroy())
      .pipe(res)
  }

  return { serve }
}
