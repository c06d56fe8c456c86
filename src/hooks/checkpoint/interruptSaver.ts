import type { HookStates } from '../../flow/hookEffect.js'
import { ordinal } from './checkpointDir.js'

const roleOf = (state: unknown): unknown => (typeof state === 'object' && state !== null ? (state as { onInterrupt?: unknown }).onInterrupt : undefined)

/**
 * The checkpoint hook (its key) that saves when the run is interrupted, from the states every
 * hook left at `fitStart`: the first in the pipe that keeps `last` (`saveLast`), else the first
 * that saves on an interrupt at all. Only that one saves, so an interrupt writes one checkpoint,
 * where the run keeps `last`; each saving would leave a `last` in every hook's folder, which
 * hooks that do not keep `last` would never prune, and their `last.json` would point at it for good.
 *
 * @example
 * interruptSaver({ checkpoint: { onInterrupt: 'save' }, 'checkpoint#2': { onInterrupt: 'saveLast' } }) // 'checkpoint#2'
 */
export const interruptSaver = (hookStates: HookStates): string | undefined => {
  const hooks = Object.entries(hookStates)
    .filter(([key]) => ordinal(key) > 0)
    .sort(([a], [b]) => ordinal(a) - ordinal(b))
  return (hooks.find(([, s]) => roleOf(s) === 'saveLast') ?? hooks.find(([, s]) => roleOf(s) === 'save'))?.[0]
}
