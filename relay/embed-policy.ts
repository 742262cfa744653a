/**
 * What the relay allows embeds (docs/EMBEDDING.md): who may frame the /embed page, who may
 * place from an embed, and the headers of /embed and /embed.js. Pure.
 *
 * Read-only embedding works from anywhere: the board is public. Placing from an embed needs the
 * host's origin in EMBED_PLACE_ORIGINS: POST /api/session from another foreign origin is
 * refused (403 origin-not-allowed), and an interactive /embed page may only be framed by those
 * origins, so that a page elsewhere cannot frame it and trick a visitor into placing.
 *
 * h-identity's branch adds the same `embedFrameAncestors(readonly)`; kept here in one place so
 * that the two are reconciled at the merge.
 */
import { isTrustedOrigin } from './request-origin.ts'

/** The CSP frame-ancestors source list of the /embed page. */
export const embedFrameAncestors = (readonly: boolean, placeOrigins: readonly string[]): string =>
  readonly || placeOrigins.includes('*') ? '*' : ["'self'", ...placeOrigins].join(' ')

/**
 * Whether a request's Origin may ask for an identity: no Origin (not a browser), the relay's
 * own origin, or one of EMBED_PLACE_ORIGINS.
 */
export const mayPlaceFrom = (origin: string | undefined, host: string | undefined, placeOrigins: readonly string[]): boolean =>
  isTrustedOrigin(origin, host, placeOrigins)

/** The paths of the embed page (a clean URL of embed.html) and of the element's module. */
export const EMBED_PAGE_PATHS: ReadonlySet<string> = new Set(['/embed', '/embed.html'])
export const EMBED_SCRIPT_PATH = '/embed.js'

/** GET /api/embed: what an embed page needs to know of the relay's policy. */
export type EmbedPolicy = { ok: true; placeOrigins: string[] }

export const embedPolicy = (placeOrigins: readonly string[]): EmbedPolicy => ({ ok: true, placeOrigins: [...placeOrigins] })
