/**
 * Whether a WebSocket handshake's Origin may use the identity cookie. Pure.
 *
 * Browsers send cookies with WebSocket handshakes that any page opens, and WebSockets have no
 * CORS: without this check a page on another site could place tiles as its visitor
 * (cross-site WebSocket hijacking). Non-browser clients send no Origin and are not affected;
 * a token passed explicitly (header or query parameter) proves the page knew it.
 */

/**
 * True if `origin` (the Origin header, or undefined when absent) is this relay's own origin,
 * `http://<host>` or `https://<host>` for the request's Host header, or one of `embedOrigins`
 * ('*' allows any). Comparison ignores case; 'null' (a sandboxed or file page) is foreign.
 */
export const isTrustedOrigin = (origin: string | undefined, host: string | undefined, embedOrigins: readonly string[]): boolean => {
  if (origin === undefined) return true
  if (embedOrigins.includes('*')) return true
  const o = origin.trim().toLowerCase()
  if (host && (o === `http://${host.toLowerCase()}` || o === `https://${host.toLowerCase()}`)) return true
  return embedOrigins.some((e) => e.toLowerCase() === o)
}

/**
 * Whether a browser page of `origin` may take identities (POST /api/session), and so place: the
 * relay's own origin, EMBED_PLACE_ORIGINS and EMBED_ORIGINS ('*' in either allows any). A
 * request without Origin (not a browser page) may.
 */
export const mayTakeIdentity = (
  origin: string | undefined,
  host: string | undefined,
  origins: { embedOrigins: readonly string[]; embedPlaceOrigins: readonly string[] },
): boolean => isTrustedOrigin(origin, host, [...origins.embedPlaceOrigins, ...origins.embedOrigins])

/**
 * The CSP frame-ancestors value for the embed page (/embed): anyone may frame a read-only board;
 * an interactive one only this origin, EMBED_PLACE_ORIGINS and EMBED_ORIGINS (whose pages may
 * take identities), or anyone when either is '*'.
 */
export const embedFrameAncestors = (
  readonly: boolean,
  origins: { embedOrigins: readonly string[]; embedPlaceOrigins: readonly string[] },
): string => {
  const allowed = [...new Set([...origins.embedPlaceOrigins, ...origins.embedOrigins])]
  if (readonly || allowed.includes('*')) return '*'
  return ["'self'", ...allowed].join(' ')
}
