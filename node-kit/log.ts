/**
 * Namespaced logging, quiet by default. `createLog('relay,store')` prints those namespaces;
 * '*' prints all. Warnings and errors always print: they mean an operator should look.
 */
export type Logger = {
  debug: (...args: unknown[]) => void
  info: (...args: unknown[]) => void
  warn: (...args: unknown[]) => void
  error: (...args: unknown[]) => void
}

export type LogFactory = (namespace: string) => Logger

export const createLog = (pattern: string): LogFactory => {
  const enabled = new Set(
    pattern
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  const all = enabled.has('*')
  return (namespace) => {
    const on = all || enabled.has(namespace)
    const tag = `[${namespace}]`
    const quiet = () => {}
    return {
      debug: on ? (...args) => console.debug(tag, ...args) : quiet,
      info: on ? (...args) => console.info(tag, ...args) : quiet,
      warn: (...args) => console.warn(tag, ...args),
      error: (...args) => console.error(tag, ...args),
    }
  }
}
