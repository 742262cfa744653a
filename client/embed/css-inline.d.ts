/** Vite's `?inline` CSS imports: the stylesheet's text (the embeds put it in their shadow roots). */
declare module '*.css?inline' {
  const css: string
  export default css
}
