import { rxtrainError } from '../errors/rxtrainError.js'
import type { TrainState } from '../core/trainState.js'
import { flattenParams } from '../tree/tree.js'
import type { SharedLayout } from './protocol.js'

/** Where each variable lives in the shared buffers of a data-parallel run: parameters first, then model state, all float32. */
export const layoutOf = (state: TrainState): SharedLayout => {
  const leaves: SharedLayout['leaves'][number][] = []
  let offset = 0
  for (const [group, tree] of [
    ['params', state.params],
    ['state', state.state],
  ] as const)
    for (const l of flattenParams(tree)) {
      if (l.tensor.dtype !== 'float32')
        throw rxtrainError('ConfigError', `data-parallel training shares float32 variables; ${group} ${l.path} is ${l.tensor.dtype}`, 'keep model variables float32, or train on one device.')
      leaves.push({ group, path: l.path, shape: l.tensor.shape, offset, size: l.tensor.size })
      offset += l.tensor.size
    }
  const paramWords = leaves.filter((l) => l.group === 'params').reduce((n, l) => n + l.size, 0)
  return { leaves, paramWords, totalWords: offset }
}
