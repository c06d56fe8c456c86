import { defer, finalize, type MonoTypeOperatorFunction } from 'rxjs'
import { SingleBar } from '#platform/singleBar.js'
import type { TerminalStream } from '../effects/terminal.js'
import { rxtrainError } from '../errors/rxtrainError.js'
import { hook } from '../flow/hook.js'
import { type HookEffect, perform } from '../flow/hookEffect.js'
import type { HookContext, HookResult } from '../flow/hookSpec.js'
import type { EventOf, FitEvent } from '../pipeline/events.js'
import { bar, fitLine, formatDuration, formatRate, type LinePart, of, validationNames } from './progressText.js'

/**
 * Lightning `TQDMProgressBar`'s options.
 *
 * @example
 * const options: ProgressBarOptions = { refreshRate: 10, everyNSteps: 100, digits: 3 }
 * fit(module, { train, val }, { maxEpochs: 3 }).pipe(progressBar(options)).subscribe()
 */
export interface ProgressBarOptions {
  /** TTY: redraw the bar every this many batches (Lightning's `refresh_rate`). Default 1. */
  readonly refreshRate?: number
  /** Not a TTY: one line every this many training batches of an epoch. Default 50. */
  readonly everyNSteps?: number
  /** Digits after the decimal point of metric values. Default 4. */
  readonly digits?: number
}

const requireCount = (name: string, value: number): number => {
  if (Number.isInteger(value) && value >= 1) return value
  throw rxtrainError('ConfigError', `progressBar: ${name} is ${value}`, `give ${name} as a whole number of batches, 1 or more.`, { field: name })
}

/** What the bar knows of the run: pure data, the bars themselves live beside it. */
interface BarState {
  /** Draw live bars (the run's console and terminal are TTYs) rather than print lines. */
  readonly tty: boolean
  readonly maxEpochs: number
  readonly epoch: number
  readonly numBatches: number
  readonly firstBatch: number
  readonly done: number
  readonly epochStart: number
  readonly pausedMs: number
  readonly validationStart: number
  /** `validating 12/79` while a validation runs, else empty. */
  readonly validating: string
  /** Time spent training this epoch up to the latest batch, validation excluded. */
  readonly trainMs: number
  readonly stepShown: ReadonlyMap<string, number>
  /** The step values read last (webgpu reads a step's values only now and then: see `TrainStep.valuesRead`), across epochs. */
  readonly lastRead: ReadonlyMap<string, number>
  readonly valShown: ReadonlyMap<string, number>
  readonly valProgBar: readonly string[] | undefined
}

/** A training step's values on the bar: its loss, then the values it marks for the bar. */
const stepValuesShown = (e: EventOf<FitEvent, 'trainStep'>): ReadonlyMap<string, number> => {
  const shown = new Map([['loss', e.loss]])
  for (const name of e.progBar) {
    const v = e.metrics[name]
    if (v !== undefined && name !== 'loss') shown.set(name, v)
  }
  return shown
}

/** The live bars of one subscription, created on the run's terminal when first started (not resumable). */
interface Bars {
  train?: SingleBar
  sanity?: SingleBar
}

const newBar = (stream: TerminalStream, clearOnComplete: boolean): SingleBar =>
  new SingleBar({
    stream,
    format: (_options, _params, payload) => payload.line ?? '',
    clearOnComplete,
    hideCursor: false,
    gracefulExit: false,
  })

/**
 * Lightning's progress bar. On a terminal (the run's console `isTTY` and its `terminal` a TTY),
 * one live bar per epoch, drawn on the run's terminal (with cli-progress in Node; in a browser,
 * a line redrawn after `'\r'`, for `effects.pageTerminal`):
 *
 *     epoch 1/3 ██████████░░░░░░░░░░░░░░░ 200/430 · 180.2 it/s · ETA 1.3s · loss 0.2512 · val/loss 0.1502
 *
 * with the step's `loss` and the values logged with `progBar: true`, the latest validation values
 * (those marked for the bar, or every `val/` value when none is), `· validating 12/79` while a
 * validation runs, and a separate `sanity check` bar that disappears when the check ends. Each
 * epoch's bar stays on screen with the epoch's time in place of the ETA. Lines fit the terminal's
 * width: the bar takes the room the text leaves (25 blocks at most, none below 10), and text too
 * wide loses its least useful parts first (the rate, then the ETA or time, the step's values),
 * its validation values last, so at 80 columns an epoch ends as
 *
 *     epoch 3/3 · 430/430 · 3.5s · loss 0.0696 · val/acc 0.9784 · val/loss 0.0798
 *
 * Elsewhere (a log file, CI) it prints plain lines on the run's console, no control characters:
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
 * fit(module, { train, val }, { maxEpochs: 3 }).pipe(progressBar()).subscribe()
 */
export const progressBar = (options: ProgressBarOptions = {}): MonoTypeOperatorFunction<FitEvent> => {
  const digits = options.digits ?? 4
  const refreshRate = requireCount('refreshRate', options.refreshRate ?? 1)
  const everyNSteps = requireCount('everyNSteps', options.everyNSteps ?? 50)
  const value = (v: number): string => v.toFixed(digits)
  const metricsText = (shown: ReadonlyMap<string, number>): string => [...shown].map(([name, v]) => ` · ${name} ${value(v)}`).join('')

  const epochLabel = (s: BarState): string => `epoch ${of(s.epoch + 1, s.maxEpochs)}`
  /** Training batches per second this epoch, validation time excluded (undefined before any time passed). */
  const rate = (s: BarState): number | undefined => {
    const seconds = s.trainMs / 1000
    const count = s.done - s.firstBatch
    return seconds > 0 && count > 0 ? count / seconds : undefined
  }
  const etaText = (s: BarState): string | undefined => {
    if (!Number.isFinite(s.numBatches)) return undefined
    const r = rate(s)
    return `ETA ${r === undefined ? '?' : formatDuration(((s.numBatches - s.done) / r) * 1000)}`
  }
  const eta = (s: BarState): string => {
    const text = etaText(s)
    return text === undefined ? '' : ` · ${text}`
  }
  /**
   * A live line's parts, in the order they show and, when the terminal is too narrow, the order
   * they go: the rate, then the ETA or time, then the step's extra values, its loss, `validating`,
   * and validation values last, so an epoch's line at 80 columns keeps them.
   */
  const liveParts = (s: BarState, time: string | undefined, step: ReadonlyMap<string, number>, val: ReadonlyMap<string, number>): LinePart[] => [
    { text: formatRate(rate(s)), drop: 1 },
    ...(time === undefined ? [] : [{ text: time, drop: 2 }]),
    ...[...step].filter(([name]) => !val.has(name)).map(([name, v]) => ({ text: `${name} ${value(v)}`, drop: name === 'loss' ? 4 : 3 })),
    ...[...val].map(([name, v]) => ({ text: `${name} ${value(v)}`, drop: 6 })),
    ...(s.validating === '' ? [] : [{ text: s.validating, drop: 5 }]),
  ]
  const ttyLine = (s: BarState, width: number): string =>
    fitLine(epochLabel(s), s.done, s.numBatches, liveParts(s, etaText(s), s.stepShown, s.valShown), width)
  const sanityLine = (n: number, total: number): string => `sanity check ${bar(n, total)}${of(n, total)}`

  return (source) =>
    defer(() => {
      const bars: Bars = {}
      const stopAll = (): void => {
        bars.sanity?.stop()
        bars.train?.stop()
      }

      const step = (s: BarState, e: FitEvent, ctx: HookContext): HookResult<BarState> => {
        /** Work on the live bars (none when lines are printed instead). */
        const live = (act: (terminal: TerminalStream) => void): HookEffect<BarState>[] => (s.tty ? [perform(() => act(ctx.env.terminal))] : [])
        const print = (line: string): HookEffect<BarState>[] => [perform(() => ctx.env.console.out(line))]
        /** The terminal's width now (it may be resized), as cli-progress takes it. */
        const width = (): number => ((ctx.env.terminal.columns ?? 0) > 0 ? (ctx.env.terminal.columns as number) : 80)
        const draw = (next: BarState) => live(() => bars.train?.update(next.done, { line: ttyLine(next, width()) }))
        switch (e.type) {
          case 'fitStart':
            return [{ ...s, maxEpochs: e.plan.maxEpochs }]
          case 'sanityCheckStart': {
            const line = sanityLine(0, e.numBatches)
            return [s, live((t) => (bars.sanity ??= newBar(t, true)).start(e.numBatches, 0, { line }))]
          }
          case 'epochStart': {
            const next = {
              ...s,
              epoch: e.epoch,
              numBatches: e.numBatches,
              firstBatch: e.firstBatch,
              done: e.firstBatch,
              epochStart: e.time,
              trainMs: 0,
              pausedMs: 0,
              validating: '',
              stepShown: new Map<string, number>(),
            }
            const total = Number.isFinite(next.numBatches) ? next.numBatches : 0
            return [next, live((t) => (bars.train ??= newBar(t, false)).start(total, next.done, { line: ttyLine(next, width()) }))]
          }
          case 'trainStep': {
            // A step whose values were not read shows the last ones read, not NaN.
            const stepShown = e.valuesRead === false ? s.lastRead : stepValuesShown(e)
            const next = { ...s, done: e.batchIdx + 1, trainMs: e.time - s.epochStart - s.pausedMs, stepShown, lastRead: stepShown }
            if (s.tty) return [next, next.done % refreshRate === 0 || next.done === next.numBatches ? draw(next) : []]
            if (next.done % everyNSteps === 0 && next.done !== next.numBatches)
              return [next, print(`${epochLabel(next)} · ${of(next.done, next.numBatches)} · ${formatRate(rate(next))}${eta(next)}${metricsText(stepShown)}`)]
            return [next]
          }
          case 'validationStart': {
            const next = { ...s, validationStart: e.time, validating: `validating ${of(0, e.numBatches)}` }
            return [next, draw(next)]
          }
          case 'validationStep': {
            const n = e.batchIdx + 1
            if (e.sanity) {
              const line = sanityLine(n, e.numBatches)
              return [s, live(() => bars.sanity?.update(n, { line }))]
            }
            const next = { ...s, validating: `validating ${of(n, e.numBatches)}` }
            return [next, n % refreshRate === 0 || n === e.numBatches ? draw(next) : []]
          }
          case 'sanityCheckEnd':
            return [s, live(() => bars.sanity?.stop())]
          case 'validationEnd': {
            const valShown = new Map(validationNames(e.progBar, e.metrics).map((n) => [n, e.metrics[n] as number]))
            const next = { ...s, pausedMs: s.pausedMs + e.time - s.validationStart, validating: '', valProgBar: e.progBar, valShown }
            return [next, draw(next)]
          }
          case 'epochEnd': {
            const next = { ...s, validating: '' }
            const shown = new Map(s.stepShown)
            for (const name of e.progBar) {
              const v = e.callbackMetrics[name]
              if (v !== undefined) shown.set(name, v)
            }
            const val = new Map<string, number>()
            for (const name of validationNames(s.valProgBar, e.callbackMetrics)) {
              const v = e.callbackMetrics[name]
              if (v !== undefined) {
                shown.set(name, v)
                val.set(name, v)
              }
            }
            const time = formatDuration(e.time - s.epochStart)
            if (!s.tty) return [next, print(`${epochLabel(s)} · ${of(s.done, s.numBatches)} · ${formatRate(rate(s))} · ${time}${metricsText(shown)}`)]
            // The line that stays on screen: its validation values outlast the rest at any width.
            const parts = liveParts(next, time, shown, val)
            return [
              next,
              live(() => {
                bars.train?.update(s.done, { line: fitLine(epochLabel(s), s.done, s.numBatches, parts, width()) })
                bars.train?.stop()
              }),
            ]
          }
          case 'fitEnd':
            return [s, live(stopAll)]
          default:
            return [s]
        }
      }

      return source.pipe(
        hook<BarState, FitEvent>({
          kind: 'progressBar',
          on: ['fitStart', 'sanityCheckStart', 'validationStep', 'sanityCheckEnd', 'epochStart', 'trainStep', 'validationStart', 'validationEnd', 'epochEnd', 'fitEnd'],
          init: (ctx) => ({
            tty: ctx.env.console.isTTY && ctx.env.terminal.isTTY === true,
            maxEpochs: Number.POSITIVE_INFINITY,
            epoch: 0,
            numBatches: Number.POSITIVE_INFINITY,
            firstBatch: 0,
            done: 0,
            epochStart: 0,
            pausedMs: 0,
            validationStart: 0,
            validating: '',
            trainMs: 0,
            stepShown: new Map(),
            lastRead: new Map(),
            valShown: new Map(),
            valProgBar: undefined,
          }),
          step,
        }),
        finalize(stopAll),
      )
    })
}
