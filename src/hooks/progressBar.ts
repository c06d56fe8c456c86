import { SingleBar } from 'cli-progress'
import { defer, finalize, type MonoTypeOperatorFunction, tap } from 'rxjs'
import { type Console, liveConsole } from '../effects/console.js'
import { liveTerminal, type TerminalStream } from '../effects/terminal.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import type { FitEvent, Metrics } from '../pipeline/events.js'

export interface ProgressBarOptions {
  /** Where plain lines go when the terminal is not a TTY (the live stdout by default; `bufferConsole()` in tests). */
  readonly console?: Console
  /** Where the live bar is drawn when `console.isTTY` (stderr by default, like tqdm and cli-progress). */
  readonly stream?: TerminalStream
  /** TTY: redraw the bar every this many batches (Lightning's `refresh_rate`). Default 1. */
  readonly refreshRate?: number
  /** Not a TTY: one line every this many training batches of an epoch. Default 50. */
  readonly everyNSteps?: number
  /** Digits after the decimal point of metric values. Default 4. */
  readonly digits?: number
}

const BAR_WIDTH = 25

/** `12.3s`, `2:05`, `1:02:05`. */
const formatDuration = (ms: number): string => {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

/** Batches per second as tqdm shows it: `180.2 it/s`, or `2.50 s/it` when slower than one a second. */
const formatRate = (rate: number | undefined): string =>
  rate === undefined ? '? it/s' : rate >= 1 ? `${rate.toFixed(1)} it/s` : `${(1 / rate).toFixed(2)} s/it`

const of = (n: number, total: number): string => (Number.isFinite(total) ? `${n}/${total}` : `${n}`)

const bar = (done: number, total: number): string => {
  if (!Number.isFinite(total)) return ''
  const filled = total <= 0 ? BAR_WIDTH : Math.min(BAR_WIDTH, Math.floor((BAR_WIDTH * done) / total))
  return `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)} `
}

/** The validation names worth showing: those marked for the bar, or every `val/` value when none is. */
const validationNames = (progBar: readonly string[] | undefined, metrics: Metrics): string[] =>
  progBar !== undefined && progBar.length > 0 ? [...progBar] : Object.keys(metrics).filter((n) => n.startsWith('val/')).sort()

const requireCount = (name: string, value: number): number => {
  if (Number.isInteger(value) && value >= 1) return value
  throw rxtrainError('ConfigError', `progressBar: ${name} is ${value}`, `give ${name} as a whole number of batches, 1 or more.`, { field: name })
}

/**
 * Lightning's progress bar. On a terminal (`console.isTTY` and a TTY `stream`), one live bar per
 * epoch, drawn with cli-progress:
 *
 *     epoch 1/3 ██████████░░░░░░░░░░░░░░░ 200/430 · 180.2 it/s · ETA 1.3s · loss 0.2512 · val/loss 0.1502
 *
 * with the step's `loss` and the values logged with `progBar: true`, the latest validation values
 * (those marked for the bar, or every `val/` value when none is), `· validating 12/79` while a
 * validation runs, and a separate `sanity check` bar that disappears when the check ends. Each
 * epoch's bar stays on screen with the epoch's time in place of the ETA.
 *
 * Elsewhere (a log file, CI) it prints plain lines through `console`, no control characters:
 * one every `everyNSteps` training batches of an epoch (not for its last batch), and one at each
 * epoch end with its metrics; validation and the sanity check print nothing of their own:
 *
 *     epoch 1/3 · 200/430 · 180.2 it/s · ETA 1.3s · loss 0.2512
 *     epoch 1/3 · 430/430 · 180.5 it/s · 2.4s · loss 0.2230 · val/acc 0.9551 · val/loss 0.1502
 *
 * Times come from the events' `time` (the run's clock). The rate counts this epoch's training
 * batches over the time spent training, validation excluded; the ETA is the batches left at that
 * rate (none when the epoch's length is unknown: `200` instead of `200/430`). Progress shows in
 * `fastDevRun` too, as in Lightning. The bar is stopped at `fitEnd`, on error and on unsubscribe.
 *
 * @example
 * fit(module, data, { maxEpochs: 3 }).pipe(progressBar()).subscribe()
 */
export const progressBar = (options: ProgressBarOptions = {}): MonoTypeOperatorFunction<FitEvent> => {
  const out = options.console ?? liveConsole
  const stream = options.stream ?? liveTerminal
  const digits = options.digits ?? 4
  const refreshRate = requireCount('refreshRate', options.refreshRate ?? 1)
  const everyNSteps = requireCount('everyNSteps', options.everyNSteps ?? 50)
  const value = (v: number): string => v.toFixed(digits)
  const metricsText = (shown: ReadonlyMap<string, number>): string =>
    [...shown].map(([name, v]) => ` · ${name} ${value(v)}`).join('')

  return (source) =>
    defer(() => {
      const tty = out.isTTY && stream.isTTY === true
      const newBar = (clearOnComplete: boolean): SingleBar =>
        new SingleBar({
          stream: stream as unknown as NodeJS.WritableStream,
          format: (_options, _params, payload: { readonly line?: string }) => payload.line ?? '',
          clearOnComplete,
          hideCursor: false,
          gracefulExit: false,
        })
      const trainBar = tty ? newBar(false) : undefined
      const sanityBar = tty ? newBar(true) : undefined

      let maxEpochs = Number.POSITIVE_INFINITY
      let epoch = 0
      let numBatches = Number.POSITIVE_INFINITY
      let firstBatch = 0
      let done = 0
      let epochStart = 0
      let pausedMs = 0
      let validationStart = 0
      let validating = ''
      /** Time spent training this epoch up to the latest batch, validation excluded. */
      let trainMs = 0
      let stepShown = new Map<string, number>()
      let valShown = new Map<string, number>()
      let valProgBar: readonly string[] | undefined

      const epochLabel = (): string => `epoch ${of(epoch + 1, maxEpochs)}`
      /** Training batches per second this epoch, validation time excluded (undefined before any time passed). */
      const rate = (): number | undefined => {
        const seconds = trainMs / 1000
        const count = done - firstBatch
        return seconds > 0 && count > 0 ? count / seconds : undefined
      }
      const eta = (): string => {
        if (!Number.isFinite(numBatches)) return ''
        const r = rate()
        return ` · ETA ${r === undefined ? '?' : formatDuration(((numBatches - done) / r) * 1000)}`
      }
      const ttyLine = (): string =>
        `${epochLabel()} ${bar(done, numBatches)}${of(done, numBatches)} · ${formatRate(rate())}${eta()}${metricsText(
          new Map([...stepShown, ...valShown]),
        )}${validating}`
      const draw = (): void => trainBar?.update(done, { line: ttyLine() })

      const onEvent = (e: FitEvent): void => {
        switch (e.type) {
          case 'fitStart':
            maxEpochs = e.plan.maxEpochs
            break
          case 'sanityCheckStart':
            sanityBar?.start(e.numBatches, 0, { line: `sanity check ${bar(0, e.numBatches)}${of(0, e.numBatches)}` })
            break
          case 'epochStart':
            epoch = e.epoch
            numBatches = e.numBatches
            firstBatch = e.firstBatch
            done = e.firstBatch
            epochStart = e.time
            trainMs = 0
            pausedMs = 0
            validating = ''
            stepShown = new Map()
            trainBar?.start(Number.isFinite(numBatches) ? numBatches : 0, done, { line: ttyLine() })
            break
          case 'trainStep': {
            done = e.batchIdx + 1
            trainMs = e.time - epochStart - pausedMs
            stepShown = new Map([['loss', e.loss]])
            for (const name of e.progBar) {
              const v = e.metrics[name]
              if (v !== undefined && name !== 'loss') stepShown.set(name, v)
            }
            if (trainBar !== undefined) {
              if (done % refreshRate === 0 || done === numBatches) draw()
            } else if (done % everyNSteps === 0 && done !== numBatches)
              out.out(`${epochLabel()} · ${of(done, numBatches)} · ${formatRate(rate())}${eta()}${metricsText(stepShown)}`)
            break
          }
          case 'validationStart':
            validationStart = e.time
            validating = ` · validating ${of(0, e.numBatches)}`
            draw()
            break
          case 'validationStep': {
            const n = e.batchIdx + 1
            if (e.sanity) sanityBar?.update(n, { line: `sanity check ${bar(n, e.numBatches)}${of(n, e.numBatches)}` })
            else if (trainBar !== undefined) {
              validating = ` · validating ${of(n, e.numBatches)}`
              if (n % refreshRate === 0 || n === e.numBatches) draw()
            }
            break
          }
          case 'sanityCheckEnd':
            sanityBar?.stop()
            break
          case 'validationEnd': {
            pausedMs += e.time - validationStart
            validating = ''
            valProgBar = e.progBar
            valShown = new Map(validationNames(e.progBar, e.metrics).map((n) => [n, e.metrics[n] as number]))
            draw()
            break
          }
          case 'epochEnd': {
            validating = ''
            const shown = new Map(stepShown)
            for (const name of e.progBar) {
              const v = e.callbackMetrics[name]
              if (v !== undefined) shown.set(name, v)
            }
            for (const name of validationNames(valProgBar, e.callbackMetrics)) {
              const v = e.callbackMetrics[name]
              if (v !== undefined) shown.set(name, v)
            }
            const elapsed = formatDuration(e.time - epochStart)
            const tail = `${of(done, numBatches)} · ${formatRate(rate())} · ${elapsed}${metricsText(shown)}`
            if (trainBar !== undefined) {
              trainBar.update(done, { line: `${epochLabel()} ${bar(done, numBatches)}${tail}` })
              trainBar.stop()
            } else out.out(`${epochLabel()} · ${tail}`)
            break
          }
          case 'fitEnd':
            sanityBar?.stop()
            trainBar?.stop()
            break
          default:
            break
        }
      }

      return source.pipe(
        tap(onEvent),
        finalize(() => {
          sanityBar?.stop()
          trainBar?.stop()
        }),
      )
    })
}
