/** A small element builder: no framework, so the bundle stays the board plus Yjs. */

type Attrs = Record<string, string | number | boolean | undefined>

/**
 * Creates an element. Attributes set to false or undefined are left out; `true` sets an empty
 * attribute; keys starting with "data-" become dataset entries as usual attributes do.
 */
export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] => {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue
    // The relay's Content-Security-Policy (style-src 'self') refuses style attributes: set
    // styles through el.style instead.
    if (k === 'style') throw new Error('h(): no style attribute under the CSP; use el.style')
    el.setAttribute(k, v === true ? '' : String(v))
  }
  el.append(...children)
  return el
}

/** The element with this id; throws if the page lacks it (a bug in index.html, not a state). */
export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id)
  if (!el) throw new Error(`index.html has no #${id}`)
  return el as T
}
