import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { MonoTypeOperatorFunction } from 'rxjs'
import { stringify } from 'yaml'
import type { FileSystem } from '../effects/fileSystem.js'
import type { FitEvent, FitStart } from '../pipeline/events.js'
import { bufferedLog, type LogFormat } from './bufferedLog.js'
import { splitCsvLine } from './csvLine.js'
import { type LogRow, runHparams } from './logRows.js'

/**
 * Lightning `CSVLogger`'s options: where `metrics.csv` and `hparams.yaml` go.
 *
 * @example
 * const options: CsvLoggerOptions = { dir: 'runs/mnist/csv', hparams: { hidden: 128, dropout: 0.2 }, flushEvery: 10 }
 * fit(module, { train, val }, { maxEpochs: 3 }).pipe(csvLogger(options)).subscribe()
 */
export interface CsvLoggerOptions {
  /** The directory of `metrics.csv` and `hparams.yaml`. Default: the run's `defaultRootDir`. */
  readonly dir?: string
  /** Your own hyperparameters, written to `hparams.yaml` beside the trainer options and the module's (under `model`). */
  readonly hparams?: Readonly<Record<string, unknown>>
  /** Write after this many new rows (and always at every epoch's end and at the end). Default 100. */
  readonly flushEvery?: number
}

/** A number as Python's csv module writes it, so pandas and spreadsheets read it back. */
const cell = (v: number | undefined): string =>
  v === undefined ? '' : Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v)

const quote = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)

const parseCell = (s: string): number | undefined =>
  s === '' ? undefined : s === 'nan' ? Number.NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s)


const columnsOf = (rows: readonly LogRow[]): string[] => {
  const seen = new Set<string>()
  for (const r of rows) for (const k of Object.keys(r.metrics)) seen.add(k)
  return ['epoch', 'step', ...seen]
}

const line = (columns: readonly string[], r: LogRow): string =>
  columns.map((c) => (c === 'epoch' ? String(r.epoch) : c === 'step' ? String(r.step) : cell(r.metrics[c]))).join(',')

const csvFormat: LogFormat = {
  kind: 'csvLogger',
  file: 'metrics.csv',
  render: (rows, fresh, previous) => {
    const columns = columnsOf(rows)
    const header = columns.map(quote).join(',')
    if (rows.length === 0) return { rewrite: '' }
    // A new metric name widens the header: rewrite the file, as Lightning's CSVLogger does.
    if (previous === undefined || previous === '' || !previous.startsWith(`${header}\n`))
      return { rewrite: `${[header, ...rows.map((r) => line(columns, r))].join('\n')}\n` }
    return { append: fresh.map((r) => `${line(columns, r)}\n`).join('') }
  },
  parse: (text) => {
    const [head, ...body] = text.split('\n').filter((l) => l !== '')
    if (head === undefined) return []
    const columns = splitCsvLine(head)
    return body.map((l) => {
      const cells = splitCsvLine(l)
      const metrics: Record<string, number> = {}
      columns.forEach((c, i) => {
        const v = parseCell(cells[i] ?? '')
        if (c !== 'epoch' && c !== 'step' && v !== undefined) metrics[c] = v
      })
      return { kind: 'train', epoch: Number(cells[0]), step: Number(cells[1]), time: 0, metrics }
    })
  },
}

/**
 * `hparams.yaml`: the trainer options, the module's hyperparameters nested under `model` as they
 * are (Lightning's `save_hyperparameters` writes them unflattened too), then your own.
 */
const writeHparams =
  (extra: Readonly<Record<string, unknown>>) =>
  (e: FitStart, dir: string, fs: FileSystem): TE.TaskEither<unknown, void> =>
    fs.writeFileAtomic(`${dir}/hparams.yaml`, stringify({ ...runHparams(e.options), ...(e.hparams !== undefined && { model: e.hparams }), ...runHparams({}, extra) }))

/**
 * Logs to `metrics.csv` (Lightning's `CSVLogger`): columns `epoch`, `step`, then every logged
 * name in the order first seen (a new name rewrites the file with the wider header), one row per
 * logged step, validation and epoch. Hyperparameters go to `hparams.yaml`. Any CSV reader loads it.
 * Files go through the run's file system (`fit`'s `env.fs`); its state in checkpoints is under
 * `csvLogger` (`csvLogger#2` for a second one in the pipe).
 *
 * @example
 * fit(module, { train, val }, { defaultRootDir: 'runs/mnist/version_0' }).pipe(csvLogger())
 */
export const csvLogger = (options: CsvLoggerOptions = {}): MonoTypeOperatorFunction<FitEvent> =>
  bufferedLog(csvFormat, {
    ...(options.dir !== undefined && { dir: options.dir }),
    ...(options.flushEvery !== undefined && { flushEvery: options.flushEvery }),
    onStart: writeHparams(options.hparams ?? {}),
  })
