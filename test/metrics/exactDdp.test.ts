import { readFileSync } from 'node:fs'
import { lastValueFrom, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { fit } from '../../src/pipeline/fit.js'
import { metricsModule } from '../fixtures/ddpMetricsModule.js'
import { quiet, useBackend } from '../support/backend.js'

const F = JSON.parse(readFileSync(new URL('../fixtures/metrics/sklearn.json', import.meta.url), 'utf8')) as {
  multiclass: { classes: number; logits: number[]; labels: number[]; confusion: number[][]; scores: Record<string, number>; ranking: { exact: { auroc: number } } }
}

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('wasm')
})

describe('exact metrics on DDP ranks', () => {
  it.each([2, 3])("an epoch's metric states merged from %i ranks equal scikit-learn's values over the whole set", async (devices) => {
    const C = F.multiclass.classes
    const columns = { x: { data: Float32Array.from(F.multiclass.logits), shape: [C] }, y: { data: Int32Array.from(F.multiclass.labels), shape: [], dtype: 'int32' as const } }
    const events = await lastValueFrom(
      fit(metricsModule, { train: fromArrays(columns, { batchSize: 64, shuffle: true }) }, { maxEpochs: 1, seed: 5, strategy: 'ddp', devices }, { backend, signals: quiet }).pipe(toArray()),
    )
    const end = events.findLast((e) => e.type === 'epochEnd')
    if (end?.type !== 'epochEnd') throw new Error('no epoch end')
    expect(Math.abs((end.metrics['train/f1'] as number) - (F.multiclass.scores['f1/weighted'] as number))).toBeLessThan(1e-6)
    expect(Math.abs((end.metrics['train/precision'] as number) - (F.multiclass.scores['precision/macro'] as number))).toBeLessThan(1e-6)
    expect(Math.abs((end.metrics['train/auroc'] as number) - F.multiclass.ranking.exact.auroc)).toBeLessThan(1e-6)
    for (let a = 0; a < C; a++) for (let p = 0; p < C; p++) expect(end.metrics[`train/confusion/${a}/${p}`]).toBe(F.multiclass.confusion[a]![p])
  }, 60_000)
})
