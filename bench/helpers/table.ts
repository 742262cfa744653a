/** What a figure module returns: one row per figure, the runner takes medians over repetitions. */
export type Target = { op: '>=' | '<='; value: number }

export type Row = {
  /** Stable key (a row with the same key across repetitions is one figure). */
  key: string
  /** Text in the table's first column. */
  figure: string
  value: number
  unit: string
  target?: Target
  /** Decimals to print. */
  digits?: number
  /** What the table's measured column says when `value` is not a number (default 'n/a'). */
  missing?: string
  /** Free-form facts about the run (sizes, CPU use): kept in the JSON, summarised in notes. */
  details?: Record<string, unknown>
}

export type FigureOptions = { quick: boolean }

export const verdict = (row: Pick<Row, 'value' | 'target'>): 'pass' | 'MISS' | '' => {
  if (!row.target || !Number.isFinite(row.value)) return ''
  const ok = row.target.op === '>=' ? row.value >= row.target.value : row.value <= row.target.value
  return ok ? 'pass' : 'MISS'
}
