import { adamCore, scaleByAdam } from './adam.js'
import type { AdamState } from './adam.js'
import { chain } from './chain.js'
import type { EmptyState } from './identity.js'
import { scaleByRms } from './rms.js'
import { scaleByLearningRate } from './scale.js'
import type { CountState } from './scale.js'
import { trace } from './trace.js'
import { asSchedule, type GradientTransform, type ScalarOrSchedule } from './transform.js'
import { requireConfig, requireDecayRate } from './validate.js'
import { addDecayedWeights } from './weightDecay.js'

/**
 * `sgd`'s options: PyTorch `SGD`'s (without dampening).
 *
 * @example
 * const options: optim.SgdOptions = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }
 * const optimizer = optim.sgd(options)
 */
export interface SgdOptions {
  /** Learning rate: a number or a schedule of the step. */
  readonly lr: ScalarOrSchedule
  /** Momentum in [0, 1). Default 0 (plain SGD). */
  readonly momentum?: number
  /** Nesterov momentum (needs momentum > 0). Default false. */
  readonly nesterov?: boolean
  /** L2 penalty added to the gradient before momentum (coupled). Default 0. */
  readonly weightDecay?: number
}

/**
 * Stochastic gradient descent as PyTorch's `SGD`: `chain(addDecayedWeights, trace,
 * scaleByLearningRate)`, with the first two present only when `weightDecay` / `momentum` are
 * non-zero (so plain SGD keeps no state but the step count).
 *
 * @example
 * const optimizer = optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 })
 */
export const sgd = (options: SgdOptions): GradientTransform => {
  const { lr, momentum = 0, nesterov = false, weightDecay = 0 } = options
  requireDecayRate('sgd', 'momentum', momentum)
  requireConfig(!nesterov || momentum > 0, 'sgd', 'momentum', momentum, '> 0 when nesterov is true')
  return chain(
    ...(weightDecay !== 0 ? [addDecayedWeights({ weightDecay })] : []),
    ...(momentum !== 0 ? [trace({ decay: momentum, nesterov })] : []),
    scaleByLearningRate(lr),
  )
}

/**
 * `adam`'s options; defaults as in PyTorch and Optax.
 *
 * @example
 * const likeTfjs: optim.AdamAliasOptions = { lr: 1e-3, eps: 1e-7, biasCorrection: 'float32' } // tf.train.adam's numbers
 * const optimizer = optim.adam(likeTfjs)
 */
export interface AdamAliasOptions {
  /** Learning rate: a number or a schedule. Default 1e-3 (PyTorch's default). */
  readonly lr?: ScalarOrSchedule
  /** Default 0.9. */
  readonly b1?: number
  /** Default 0.999. */
  readonly b2?: number
  /** Default 1e-8 (tfjs `tf.train.adam` uses 1e-7). */
  readonly eps?: number
  /** `'float32'` computes the bias corrections as `tf.train.adam` does (see `scaleByAdam`). Default `'float64'`. */
  readonly biasCorrection?: 'float64' | 'float32'
  /** One kernel per leaf where the backend has one (see `scaleByAdam`). Default true. */
  readonly fused?: boolean
}

/**
 * Adam: `chain(scaleByAdam({ b1, b2, eps }), scaleByLearningRate(lr))`. Where the run's backend
 * has the kernel (`kernels.adamStep`: wasm with SIMD, cpu), its `fusedStep` computes each leaf's
 * moments, update and new parameter in one pass, as PyTorch's `fused=True` does: the same
 * parameters, bit for bit, as the chain's update followed by `applyUpdates`.
 *
 * @example
 * const optimizer = optim.adam({ lr: optim.warmupCosineDecay({ peak: 1e-3, warmupSteps: 100, decaySteps: 5000 }) })
 */
export const adam = (options: AdamAliasOptions = {}): GradientTransform<readonly [AdamState, CountState]> => {
  const { lr = 1e-3, b1, b2, eps, biasCorrection, fused } = options
  const core = adamCore({ b1, b2, eps, biasCorrection, fused })
  const scaling = scaleByLearningRate(lr)
  const schedule = asSchedule(lr)
  return {
    ...chain(core.transform, scaling),
    fusedStep: (updates, [adamState, counted], params, ctx) => {
      // scaleByLearningRate's factor for this update, and its next count.
      const done = core.step(updates, adamState, params, -schedule(counted.count), ctx)
      return done === undefined ? undefined : [done[0], [done[1], { count: counted.count + 1 }]]
    },
  }
}

/**
 * `adamw`'s options.
 *
 * @example
 * const options: optim.AdamWOptions = { lr: 1e-3, weightDecay: 0.01 }
 * const optimizer = optim.adamw(options)
 */
export interface AdamWOptions extends AdamAliasOptions {
  /** Decoupled weight decay. Default 0.01 (PyTorch's default; Optax's is 1e-4). */
  readonly weightDecay?: number
  /** Which parameters decay, by path. Default: all. */
  readonly mask?: (path: string) => boolean
}

/**
 * AdamW (Loshchilov & Hutter 2019) with decoupled weight decay, as in PyTorch and Optax:
 * `chain(scaleByAdam, addDecayedWeights({ weightDecay, mask }), scaleByLearningRate(lr))`, so
 * each step subtracts `lr * (adamUpdate + weightDecay * param)`.
 *
 * @example
 * const optimizer = optim.adamw({ lr: 3e-4, weightDecay: 0.1, mask: (path) => path.endsWith('kernel') })
 */
export const adamw = (options: AdamWOptions = {}): GradientTransform<readonly [AdamState, EmptyState, CountState]> => {
  const { lr = 1e-3, b1, b2, eps, biasCorrection, fused, weightDecay = 0.01, mask } = options
  return chain(
    scaleByAdam({ b1, b2, eps, biasCorrection, fused }),
    addDecayedWeights({ weightDecay, mask }),
    scaleByLearningRate(lr),
  )
}

/**
 * `rmsprop`'s options: PyTorch `RMSprop`'s (`decay` is PyTorch's `alpha`).
 *
 * @example
 * const options: optim.RmspropOptions = { lr: 1e-3, decay: 0.9, momentum: 0.9 }
 * const optimizer = optim.rmsprop(options)
 */
export interface RmspropOptions {
  /** Learning rate: a number or a schedule. Default 1e-2 (PyTorch's default). */
  readonly lr?: ScalarOrSchedule
  /** Default 0.99. */
  readonly decay?: number
  /** Default 1e-8. */
  readonly eps?: number
  /** Momentum on the normalised gradient. Default 0. */
  readonly momentum?: number
  /** Normalise by the variance estimate. Default false. */
  readonly centered?: boolean
}

/**
 * RMSprop as PyTorch's: `chain(scaleByRms({ decay, eps, centered }), trace({ decay: momentum }),
 * scaleByLearningRate(lr))`, the trace present only when `momentum` is non-zero.
 *
 * @example
 * const optimizer = optim.rmsprop({ lr: 1e-3, momentum: 0.9, centered: true })
 */
export const rmsprop = (options: RmspropOptions = {}): GradientTransform => {
  const { lr = 1e-2, decay = 0.99, eps = 1e-8, momentum = 0, centered = false } = options
  requireDecayRate('rmsprop', 'momentum', momentum)
  return chain(
    scaleByRms({ decay, eps, centered }),
    ...(momentum !== 0 ? [trace({ decay: momentum })] : []),
    scaleByLearningRate(lr),
  )
}
