import { describeChoice } from '../backends/accelerator.js'
import { type MonoTypeOperatorFunction, tap } from 'rxjs'
import { type Console, liveConsole } from '../effects/console.js'
import type { FitEvent, Metrics } from '../pipeline/events.js'

export interface PrintMetricsOptions {
  /** Where lines go (the live terminal by default; a `bufferConsole()` in tests). */
  readonly console?: Console
  /** Digits after the decimal point. Default 4. */
  readonly digits?: number
}

/** `name value · name value`, names sorted, for one line of output. */
export const formatMetrics = (metrics: Metrics, digits = 4): string =>
  Object.keys(metrics)
    .sort()
    .map((name) => `${name} ${(metrics[name] as number).toFixed(digits)}`)
    .join(' · ')

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`

/**
 * Prints one line per finished epoch (its training and validation metrics and how long it took)
 * and a closing line saying why training ended. Events pass through unchanged.
 *
 * @example
 * fit(module, data, { maxEpochs: 3 }).pipe(printMetrics()).subscribe()
 * // epoch 1/3 · train/loss 0.3121 · val/acc 0.9551 · val/loss 0.1502 · 9.8s
 */
export const printMetrics = (options: PrintMetricsOptions = {}): MonoTypeOperatorFunction<FitEvent> => {
  const out = options.console ?? liveConsole
  const digits = options.digits ?? 4
  let epochStarted = 0
  let maxEpochs = Number.POSITIVE_INFINITY
  return tap((event) => {
    switch (event.type) {
      case 'fitStart':
        maxEpochs = event.plan.maxEpochs
        out.out(`${describeChoice(event.accelerator)}: ${event.plan.numTrainBatches} batches per epoch, ${event.plan.numValBatches} validation batches`)
        break
      case 'epochStart':
        epochStarted = event.time
        break
      case 'epochEnd': {
        const of = Number.isFinite(maxEpochs) ? `/${maxEpochs}` : ''
        const metrics = formatMetrics(event.callbackMetrics, digits)
        out.out(`epoch ${event.epoch + 1}${of}${metrics === '' ? '' : ` · ${metrics}`} · ${seconds(event.time - epochStarted)}`)
        break
      }
      case 'fitEnd':
        out.out(
          `training ended (${event.reason}${event.stopReason === undefined ? '' : `: ${event.stopReason}`}) after ${event.epoch} epochs, ${event.globalStep} steps`,
        )
        break
      default:
        break
    }
  })
}
