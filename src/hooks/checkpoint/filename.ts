import { rxtrainError } from '../../errors/rxtrainError.js'

/**
 * Formats a number with a Python-style format spec as Lightning's filename templates use them:
 * `.4f`, `.3e`, `.5g`, `d`, `03d`. An empty spec prints the number as JavaScript does.
 */
export const formatNumber = (value: number, spec: string): string => {
  if (spec === '') return String(value)
  const m = /^(0?)(\d*)(?:\.(\d+))?([fegd])$/.exec(spec)
  if (m === null)
    throw rxtrainError('ConfigError', `unsupported number format '${spec}' in a checkpoint filename`, "use one of .Nf, .Ne, .Ng, d or 0Nd, e.g. '{val/loss:.4f}'.", { spec })
  const [, zero, width, precision, kind] = m
  let text: string
  switch (kind) {
    case 'f':
      text = value.toFixed(precision === undefined ? 6 : Number(precision))
      break
    case 'e':
      text = value.toExponential(precision === undefined ? 6 : Number(precision)).replace(/e([+-])(\d)$/, 'e$10$2')
      break
    case 'g':
      text = String(Number(value.toPrecision(precision === undefined ? 6 : Math.max(1, Number(precision)))))
      break
    default:
      text = String(Math.trunc(value))
  }
  if (width !== undefined && width !== '' && text.length < Number(width)) {
    const pad = (zero === '0' ? '0' : ' ').repeat(Number(width) - text.length)
    text = zero === '0' && text.startsWith('-') ? `-${pad}${text.slice(1)}` : pad + text
  }
  return text
}

/** Metric names may contain `/` (`val/loss`); in a file name it becomes `_`. */
const safe = (name: string): string => name.replace(/[/\\]/g, '_')

/**
 * Fills a checkpoint filename template (Lightning's `ModelCheckpoint.filename`): each `{name}` or
 * `{name:spec}` becomes `name=value` (or just `value` without `autoInsertMetricName`), with the
 * value from `values` (`epoch`, `step` and the metrics). A name without a value is an error that
 * lists what is available.
 *
 * @example
 * formatCheckpointName('{epoch}-{val/loss:.4f}', { epoch: 2, 'val/loss': 0.31234 }) // 'epoch=2-val_loss=0.3123'
 */
export const formatCheckpointName = (template: string, values: Readonly<Record<string, number>>, autoInsertMetricName = true): string => {
  const name = template.replace(/\{([^{}:]+)(?::([^{}]*))?\}/g, (_, key: string, spec: string | undefined) => {
    const value = values[key]
    if (value === undefined)
      throw rxtrainError(
        'ConfigError',
        `the checkpoint filename '${template}' uses '${key}', which has not been logged`,
        `use epoch, step or one of: ${Object.keys(values).sort().join(', ')}.`,
        { template, key },
      )
    const text = formatNumber(value, spec ?? '')
    return autoInsertMetricName ? `${safe(key)}=${text}` : text
  })
  return safe(name)
}
