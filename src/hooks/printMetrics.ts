import type { MonoTypeOperatorFunction } from 'rxjs'
import { type AcceleratorChoice, choiceLines } from '../backends/accelerator.js'
import { hook } from '../flow/hook.js'
import { perform } from '../flow/hookEffect.js'
import type { FitEvent, Metrics } from '../pipeline/events.js'
import type { LoopPlan } from '../pipeline/plan.js'

export interface PrintMetricsOptions {
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
 * The run's start: what trains on what, short enough for an 80-column terminal, then the details
 * indented below it (`choiceLines`: the backend's description and the request, then one line per
 * backend passed over and why).
 */
export const startLines = (event: { readonly accelerator: AcceleratorChoice; readonly plan: Pick<LoopPlan, 'numTrainBatches' | 'numValBatches'> }): readonly string[] => {
  const count = (n: number): string => (Number.isFinite(n) ? String(n) : '?')
  const { accelerator: choice, plan } = event
  return [
    `training on ${choice.backend}: ${count(plan.numTrainBatches)} batches per epoch, ${count(plan.numValBatches)} validation batches`,
    ...choiceLines(choice).map((line) => `  ${line}`),
  ]
}

/** What printing needs to remember: when the epoch started and how many epochs the run has. */
interface PrintState {
  readonly epochStarted: number
  readonly maxEpochs: number
}

/**
 * Prints what the run trains on (`startLines`: a short line and the backend's details below it),
 * one line per finished epoch (its training and validation metrics and how long it took) and a
 * closing line saying why training ended, on the run's console. Events pass through unchanged.
 *
 * @example
 * fit(module, { train, val }, { maxEpochs: 3 }).pipe(printMetrics()).subscribe()
 * // training on wasm: 430 batches per epoch, 40 validation batches
 * //   wasm (XNNPACK, SIMD, 1 thread, tfjs 4.22.0), accelerator 'auto'
 * //   not tensorflow-gpu: needs @tensorflow/tfjs-node-gpu, which is not installed
 * // epoch 1/3 · train/loss 0.3121 · val/acc 0.9551 · val/loss 0.1502 · 9.8s
 */
export const printMetrics = (options: PrintMetricsOptions = {}): MonoTypeOperatorFunction<FitEvent> => {
  const digits = options.digits ?? 4
  return hook<PrintState, FitEvent>({
    kind: 'printMetrics',
    on: ['fitStart', 'epochStart', 'epochEnd', 'fitEnd'],
    init: () => ({ epochStarted: 0, maxEpochs: Number.POSITIVE_INFINITY }),
    step: (state, event, ctx) => {
      const print = (line: string) => [perform<PrintState>(() => ctx.env.console.out(line))]
      switch (event.type) {
        case 'fitStart': {
          return [{ ...state, maxEpochs: event.plan.maxEpochs }, startLines(event).flatMap(print)]
        }
        case 'epochStart':
          return [{ ...state, epochStarted: event.time }]
        case 'epochEnd': {
          const of = Number.isFinite(state.maxEpochs) ? `/${state.maxEpochs}` : ''
          const metrics = formatMetrics(event.callbackMetrics, digits)
          return [state, print(`epoch ${event.epoch + 1}${of}${metrics === '' ? '' : ` · ${metrics}`} · ${seconds(event.time - state.epochStarted)}`)]
        }
        case 'fitEnd':
          return [
            state,
            print(`training ended (${event.reason}${event.stopReason === undefined ? '' : `: ${event.stopReason}`}) after ${event.epoch} epochs, ${event.globalStep} steps`),
          ]
        default:
          return [state]
      }
    },
  })
}
