import { combine, type ReadLog, resultOf } from '../pipeline/logs.js'
import type { ReadLogData } from './protocol.js'

/** Merges the read logs of several ranks by name (each reduction's monoid). */
export const mergeLogs = (parts: readonly (readonly (ReadLog | ReadLogData)[])[]): ReadLog[] => {
  const byName = new Map<string, ReadLog>()
  for (const logs of parts)
    for (const l of logs) {
      const old = byName.get(l.pending.name)
      if (old === undefined) byName.set(l.pending.name, l as ReadLog)
      else {
        const accumulated = combine(old.accumulated, l.accumulated)
        const value = old.pending.reduce === 'mean' ? resultOf(accumulated) : accumulated.reduce === 'sum' ? old.value + l.value : resultOf(accumulated)
        byName.set(l.pending.name, { pending: { ...old.pending, weight: accumulated.weight }, value, accumulated })
      }
    }
  return [...byName.values()]
}
