import { profileKernels } from '../backends/kernelProfile.js'
import type { PhaseClock } from '../flow/phaseClock.js'
import type { Params } from '../tree/tree.js'
import type { TrainState } from './events.js'
import { runStep, type StepResult, type TrainStep } from './step.js'
import type { TrainStepContext } from './stepParts.js'

/**
 * The run's step as a profiled run takes it: the same step (same parts, same result), with its
 * two halves timed as the phases `forward+backward` and `optimizer update`, and, on the steps the
 * profiler samples (`advanced` mode), every kernel it runs timed by `tf.profile`.
 */
export const timedStep = <P extends Params, S extends Params, B>(step: TrainStep<P, S, B>, phases: PhaseClock): TrainStep<P, S, B> => {
  const timed = (state: TrainState<P, S>, batch: B, ctx: TrainStepContext): StepResult<P, S> => {
    const run = () => runStep(step, step.logGradNorm, state, batch, ctx, (name, f) => phases.time(name, f))
    if (!phases.sampleKernels(ctx.globalStep)) return run()
    const [result, kernels] = profileKernels(run)
    phases.addKernels(kernels)
    return result
  }
  return Object.assign(timed, {
    forward: step.forward,
    gradients: step.gradients,
    update: step.update,
    optimizer: step.optimizer,
    precision: step.precision,
    accumulateGradBatches: step.accumulateGradBatches,
    logGradNorm: step.logGradNorm,
    init: step.init,
  })
}
