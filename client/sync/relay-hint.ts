/**
 * Hints the app page leaves for the relay about what it keeps, as cookies the relay reads on the
 * next page load (relay/http-api.ts, the app page's preloads): `tessera_kept_<id>=1` (the board,
 * in IndexedDB) and `tessera_kept_image_<id>=1` (its image, in Cache Storage). The relay cannot
 * see either store, and a page load is the only request that comes before the page's script.
 *
 * Only on the relay's own page (origin ''): a page of another origin talking to the relay would
 * set them on its own site, where no relay reads them.
 */

/** How long a hint lasts: a year (s). A later save sets it again. */
const HINT_MAX_AGE_S = 31_536_000

/** Sets the hint cookie `<name>=1` for this origin's pages, when `origin` is the page's own (''). */
export const leaveRelayHint = (origin: string, name: string): void => {
  if (origin !== '') return
  // biome-ignore lint/suspicious/noDocumentCookie: the names are fixed ASCII (a prefix and a board id, which BOARD_ID_PATTERN limits to a-z 0-9 _ -) and the value '1', so nothing needs escaping; the Cookie Store API exists only in secure contexts, and a plain-HTTP relay (no service worker there) is where these hints save most.
  document.cookie = `${name}=1; Path=/; Max-Age=${HINT_MAX_AGE_S}; SameSite=Lax`
}
