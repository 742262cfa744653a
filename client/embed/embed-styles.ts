/**
 * The embeds' stylesheet, kept inside the element's shadow root: the app's own styles
 * (client/styles.css, the same board, palette and Place button) plus the embed's layout and its
 * light theme. The app's variables and fonts are declared on :root and :host there (a shadow
 * root does not see :root), dark by default; theme="light" overrides them here.
 */
import appCss from '../styles.css?inline'

const embedCss = `
:host {
  --stage-bg: #0e1117;
  display: block;
  position: relative;
  /* A size the host may override; the board fits whatever it is given. */
  width: 100%;
  height: 400px;
  color: var(--text);
  contain: content;
}
:host([theme="light"]) {
  --bg: #f5f6fa;
  --panel: rgba(255, 255, 255, 0.94);
  --panel-solid: #ffffff;
  --line: rgba(0, 0, 0, 0.1);
  --text: #1b1f2a;
  --muted: #5d6578;
  --stage-bg: #e9ebf1;
  color-scheme: light;
}
:host([hidden]) {
  display: none;
}
.embed {
  display: grid;
  grid-template-rows: minmax(0, 1fr) auto;
  height: 100%;
  background: var(--bg);
}
.stage {
  background-color: var(--stage-bg);
}
.stage .connection {
  position: absolute;
  top: 8px;
  right: 8px;
  z-index: 3;
  pointer-events: none;
}
.stage .loading {
  z-index: 3;
}
.message {
  position: absolute;
  left: 8px;
  bottom: 8px;
  right: 8px;
  z-index: 3;
  padding: 6px 10px;
  border-radius: 8px;
  background: var(--panel);
  color: var(--text);
  font-size: 12px;
}
.message[hidden],
.embed-dock[hidden] {
  display: none;
}
.embed-dock {
  display: flex;
  align-items: center;
  gap: 10px;
  padding: 8px 10px;
  background: var(--panel);
  border-top: 1px solid var(--line);
}
.embed-dock .palette {
  grid-template-columns: repeat(var(--cols-narrow, 8), minmax(0, 1fr));
  max-width: none;
}
.embed-dock .place {
  min-width: 120px;
  height: 40px;
}
`

/** The whole stylesheet of an embed's shadow root. */
export const EMBED_CSS = `${appCss}\n${embedCss}`
