import type { EventOf, FitEvent } from '../../src/index.js'

/**
 * What the run trains on, as lines that fit 80 columns: a headline (`training on wasm: 430
 * batches per epoch, 40 validation batches`), then the backend's description and the request, and
 * one line per backend passed over with the first clause of its reason (the event holds the rest).
 */
export const backendLines = (e: EventOf<FitEvent, 'fitStart'>): string => {
  const count = (n: number): string => (Number.isFinite(n) ? String(n) : '?')
  const { accelerator: choice } = e
  const request = choice.requested === 'env' ? 'given by the caller' : `accelerator '${choice.requested}'`
  return [
    `training on ${choice.backend}: ${count(e.plan.numTrainBatches)} batches per epoch, ${count(e.plan.numValBatches)} validation batches`,
    `  ${choice.description}, ${request}`,
    ...choice.skipped.map((s) => `  not ${s.backend}: ${(s.reason.split(' (')[0] ?? s.reason).replace(/^the \S+ backend /, '')}`),
  ].join('\n')
}
