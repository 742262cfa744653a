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
