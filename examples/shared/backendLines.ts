import { describeChoice, type EventOf, type FitEvent } from '../../src/index.js'

/**
 * What the run trains on, in two lines: a short one that fits 80 columns (`training on wasm: 430
 * batches per epoch, 40 validation batches`) and `describeChoice`'s details below it (the
 * backend's description, the accelerator asked for, what was passed over and why), where a
 * long line may wrap without hiding the first.
 */
export const backendLines = (e: EventOf<FitEvent, 'fitStart'>): string => {
  const count = (n: number): string => (Number.isFinite(n) ? String(n) : '?')
  const headline = `training on ${e.accelerator.backend}: ${count(e.plan.numTrainBatches)} batches per epoch, ${count(e.plan.numValBatches)} validation batches`
  return `${headline}\n  ${describeChoice(e.accelerator).replace(/^training on /, '')}`
}
