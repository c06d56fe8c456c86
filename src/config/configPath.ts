/*
 * Paths into a config as users write them (`hooks[1].earlyStopping.patience`, `model.args.hidden`),
 * for overrides on the command line and for the places errors point at.
 */

/** One step of a path: an object key or an array index. */
export type PathSegment = string | number

/**
 * The segments of a dotted path: `hooks[1].earlyStopping.patience` and `hooks.1.earlyStopping.patience`
 * are `['hooks', 1, 'earlyStopping', 'patience']`. A key holding a dot or a bracket cannot be
 * written this way (metric names such as `val/loss` can: they hold neither). Undefined for a
 * malformed path (an empty key, an unclosed bracket).
 *
 * @example
 * parseConfigPath('trainer.maxEpochs')   // ['trainer', 'maxEpochs']
 */
export const parseConfigPath = (path: string): readonly PathSegment[] | undefined => {
  const segments: PathSegment[] = []
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part)
    if (m === null) return undefined
    const [, key = '', indexes = ''] = m
    if (key === '' && indexes === '') return undefined
    if (key !== '') segments.push(/^\d+$/.test(key) && segments.length > 0 ? Number(key) : key)
    for (const index of indexes.matchAll(/\[(\d+)\]/g)) segments.push(Number(index[1]))
  }
  return segments.length === 0 ? undefined : segments
}

/**
 * A path as messages print it: `hooks[1].earlyStopping.patience`.
 *
 * @example
 * formatConfigPath(['hooks', 1, 'earlyStopping', 'patience'])   // 'hooks[1].earlyStopping.patience'
 */
export const formatConfigPath = (segments: readonly PathSegment[]): string =>
  segments.reduce<string>((s, seg) => (typeof seg === 'number' ? `${s}[${seg}]` : s === '' ? seg : `${s}.${seg}`), '')
