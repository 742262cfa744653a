/**
 * Times given as text by an operator (a flag) or a URL query (`?at=`): ms since 1970 (1 to 15
 * digits) or an ISO 8601 date (it must start YYYY-MM-DD, so that Date.parse's lenient forms like
 * "3" or "Dec 3" are refused).
 */

/** ms since the Unix epoch, or null when the text is neither form. */
export const parseTimeText = (text: string): number | null => {
  if (/^\d{1,15}$/.test(text)) return Number(text)
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN
  return Number.isNaN(t) ? null : t
}

/**
 * A date string in any form Date.parse reads (the admin API's JSON times, where integers come as
 * numbers), as ms since the Unix epoch; null when Date.parse reads none.
 */
export const parseDateString = (text: string): number | null => {
  const t = Date.parse(text)
  return Number.isNaN(t) ? null : t
}
