/**
 * The embed's paths and what GET /api/embed tells an embed page of the relay's policy
 * (docs/EMBEDDING.md). Who may frame /embed and who may take identities: relay/request-origin.ts.
 */

/** The paths of the embed page (a clean URL of embed.html) and of the element's module. */
export const EMBED_PAGE_PATHS: ReadonlySet<string> = new Set(['/embed', '/embed.html'])
export const EMBED_SCRIPT_PATH = '/embed.js'

/** GET /api/embed: what an embed page needs to know of the relay's policy. */
export type EmbedPolicy = { ok: true; placeOrigins: string[] }

/** The origins whose pages may take identities (and so place) besides the relay's own. */
export const embedPolicy = (origins: { embedOrigins: readonly string[]; embedPlaceOrigins: readonly string[] }): EmbedPolicy => ({
  ok: true,
  placeOrigins: [...new Set([...origins.embedPlaceOrigins, ...origins.embedOrigins])],
})
