import { rxtrainError } from '../errors/rxtrainError.js'
import type { ReadLog } from './logs.js'
import type { StepContext } from './module.js'

/**
 * The error that fails a run whose training loss is not finite, naming the step it came from
 * (which, on a backend without host reads, may be some steps before the one that read it).
 */
export const nonFiniteLoss = (ctx: StepContext, loss: number, logs: readonly ReadLog[]) => {
  const others = logs.filter((l) => !Number.isFinite(l.value)).map((l) => `${l.pending.name} = ${l.value}`)
  return rxtrainError(
    'NonFiniteError',
    `the training loss is ${loss} at epoch ${ctx.epoch}, batch ${ctx.batchIdx} (global step ${ctx.globalStep})${others.length > 0 ? `; also non-finite: ${others.join(', ')}` : ''}`,
    'lower the learning rate, clip gradients (gradientClipVal), check the data for NaN or Inf, or put applyIfFinite(...) in the optimizer chain to skip such steps.',
    { epoch: ctx.epoch, batchIdx: ctx.batchIdx, globalStep: ctx.globalStep, loss },
  )
}
