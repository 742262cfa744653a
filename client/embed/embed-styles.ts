/**
 * The embeds' stylesheet, kept inside the element's shadow root: the app's own styles
 * (client/styles.css, the same board, palette and Place button) plus the embed's layout and its
 * two themes. The app's variables live on :root, which a shadow root does not see: they are
 * declared on :host here, dark by default, light with theme="light".
 */
import appCss from '../styles.css?inline'

const embedCss = `
:host {
  --bg: #0b0d12;
  --panel: rgba(18, 21, 29, 0.92);
  --panel-solid: #12151d;
  --line: rgba(255, 255, 255, 0.08);
  --text: #e8eaf0;
  --muted: #8c94a8;
  --accent: #5b7cfa;
  --accent-2: #8b5cf6;
  --ok: #34d399;
  --warn: #fbbf24;
  --error: #f87171;
  --radius: 12px;
  --stage-bg: #0e1117;
  display: block;
  position: relative;
  /* A size the host may override; the board fits whatever it is given. */
  width: 100%;
  height: 400px;
  color-scheme: dark;
  font-family: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px;
  line-height: 1.4;
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
