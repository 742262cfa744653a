/**
 * <tessera-board>: the live board as a custom element, served by the relay as one ES module,
 * /embed.js (built by vite.embed.config.ts). docs/EMBEDDING.md documents the attributes, methods
 * and events. Its styles live in its shadow root (client/embed/embed-styles.ts); the board
 * itself is client/embed/board-embed.ts, the same parts as the app.
 *
 *   <script type="module" src="https://place.example/embed.js"></script>
 *   <tessera-board board="main" x="500" y="500" zoom="8" readonly></tessera-board>
 *
 * Attributes may change at any time: `token` is re-exchanged (the socket reopens with the new
 * identity), `x`/`y`/`zoom` move the view, `theme` restyles; `relay`, `board`, `readonly`,
 * `region` and `palette` rebuild the board (a new connection).
 */
import { type BoardEmbed, createBoardEmbed } from './board-embed.ts'
import { EmbedEvent, TAG } from './embed-events.ts'
import type { PlacedDetail } from './embed-place.ts'
import { EMBED_CSS } from './embed-styles.ts'
import { parseRegion } from './region.ts'

const OBSERVED = ['relay', 'board', 'x', 'y', 'zoom', 'readonly', 'region', 'token', 'palette', 'theme'] as const
/** Attributes whose change needs a new board (a new connection). */
const REBUILD: ReadonlySet<string> = new Set(['relay', 'board', 'readonly', 'region', 'palette'])

/** The relay this module was served by: the default of `relay`. */
const OWN_ORIGIN = (() => {
  try {
    return new URL(import.meta.url).origin
  } catch {
    return location.origin
  }
})()

/** A number attribute, or null when absent or not a finite number. */
const numberAttr = (el: HTMLElement, name: string): number | null => {
  const v = el.getAttribute(name)
  if (v === null || v.trim() === '') return null
  const n = Number(v)
  return Number.isFinite(n) ? n : null
}

/** A boolean attribute: present and not "false" (readonly="false" is not read-only). */
const flag = (el: HTMLElement, name: string): boolean => el.hasAttribute(name) && el.getAttribute(name) !== 'false'

const styleSheet = (() => {
  let sheet: CSSStyleSheet | null = null
  return (): CSSStyleSheet | null => {
    if (sheet) return sheet
    try {
      sheet = new CSSStyleSheet()
      sheet.replaceSync(EMBED_CSS)
    } catch {
      // No constructable stylesheets (old browsers): a <style> element instead.
      sheet = null
    }
    return sheet
  }
})()

/**
 * Custom elements must be classes that extend HTMLElement (the platform constructs them); the
 * class only maps attributes to a BoardEmbed and forwards its events.
 */
class TesseraBoard extends HTMLElement {
  static get observedAttributes(): readonly string[] {
    return OBSERVED
  }

  #root: ShadowRoot
  #embed: BoardEmbed | null = null
  #rebuildQueued = false

  constructor() {
    super()
    this.#root = this.attachShadow({ mode: 'open' })
    const sheet = styleSheet()
    if (sheet) this.#root.adoptedStyleSheets = [sheet]
    else {
      const style = document.createElement('style')
      style.textContent = EMBED_CSS
      this.#root.append(style)
    }
  }

  connectedCallback(): void {
    if (!this.#embed) this.#build()
  }

  disconnectedCallback(): void {
    this.#embed?.destroy()
    this.#embed = null
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (old === value || !this.#embed) return
    if (REBUILD.has(name)) {
      // Several attributes set in a row rebuild once.
      if (this.#rebuildQueued) return
      this.#rebuildQueued = true
      queueMicrotask(() => {
        this.#rebuildQueued = false
        if (!this.isConnected) return
        this.#embed?.destroy()
        this.#build()
      })
    } else if (name === 'token') this.#embed.setHostToken(value || null)
    else if (name === 'x' || name === 'y' || name === 'zoom') {
      const v = numberAttr(this, name)
      if (v !== null) this.#embed.view({ [name]: v })
    }
    // theme: CSS only (:host([theme="light"])).
  }

  #build(): void {
    const relay = (this.getAttribute('relay') || OWN_ORIGIN).replace(/\/+$/, '')
    const wsBase = `${relay.replace(/^http/, 'ws')}/ws`
    const palette = this.getAttribute('palette')
    this.#embed = createBoardEmbed(
      this.#root,
      {
        origin: relay,
        wsBase,
        boardId: this.getAttribute('board') || 'main',
        readonly: flag(this, 'readonly'),
        region: parseRegion(this.getAttribute('region')),
        paletteBar: palette !== 'hide' && palette !== 'false',
        view: { x: numberAttr(this, 'x'), y: numberAttr(this, 'y'), zoom: numberAttr(this, 'zoom') },
        hostToken: this.getAttribute('token') || null,
      },
      (type, detail) => this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true })),
    )
  }

  /** Places a tile; resolves with the relay's answer, rejects with an Error whose `code` says why. */
  place(intent: { x: number; y: number; color: number }): Promise<PlacedDetail> {
    if (!this.#embed) return Promise.reject(Object.assign(new Error('the element is not in a document'), { code: 'offline' }))
    return this.#embed.place(intent)
  }

  /** Selects a tile (board coordinates); tessera-select follows with its placer. */
  select(x: number, y: number): void {
    this.#embed?.select(x, y)
  }

  /** Moves the view: the board tile at the centre and the zoom (CSS px per tile), each optional. */
  view(v: { x?: number; y?: number; zoom?: number }): void {
    this.#embed?.view(v)
  }

  /** The connection's status (the last tessera-status). */
  get status(): string {
    return this.#embed?.status() ?? 'closed'
  }

  /** The colour index of board tile (x, y) as shown, or undefined (outside the region, or not loaded). */
  colorAt(x: number, y: number): number | undefined {
    return this.#embed?.colorAt(x, y)
  }

  /** Who this element places as ({ user, name }), or null (read-only, or not yet known). */
  get identity(): { user: string; name: string | null } | null {
    return this.#embed?.identity() ?? null
  }
}

if (!customElements.get(TAG)) customElements.define(TAG, TesseraBoard)

export { EmbedEvent, TAG }
