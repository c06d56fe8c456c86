/**
 * The tuner (Lightning's `Tuner`): functions a user calls before `fit` to choose a learning rate
 * (`lrFind`) or a batch size (`scaleBatchSize`). Each trains fresh copies of the module from its
 * own `init` and leaves no trace in it.
 *
 * @example
 * import { tuner } from 'rxtrain'
 * const found = await lastValueFrom(tuner.lrFind(module, { train }, { optimizer: (lr) => optim.adam({ lr }) }))
 */
export { lrFind } from './lrFind.js'
export type { LrFindOptions, LrFindResult } from './lrFind.js'
export type { LrFindMode } from './lrFinderCurve.js'
export { isOutOfMemory } from './outOfMemory.js'
export { scaleBatchSize } from './scaleBatchSize.js'
export type { ScaleBatchSizeOptions, ScaleBatchSizeResult } from './scaleBatchSize.js'
