import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { isRight } from 'fp-ts/lib/Either.js'
import { lastValueFrom, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { LoopStateCodec } from '../../src/core/loopState.js'
import { fromArrays } from '../../src/data/arraySource.js'
import { manualClock } from '../../src/effects/clock.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import {
  accuracy,
  auroc,
  averagePrecision,
  type Average,
  confusion,
  confusionMatrix,
  explainedVariance,
  f1,
  type HostMetricState,
  isMetricState,
  mape,
  type MetricState,
  metricMonoid,
  metricValue,
  precision,
  r2,
  rankingErrorBound,
  recall,
} from '../../src/metrics/index.js'
import { optim } from '../../src/index.js'
import { fit } from '../../src/pipeline/fit.js'
import { addToEpoch, epochValues, log, type Logs, pendingLogs, readLog } from '../../src/pipeline/logs.js'
import { defineModule } from '../../src/pipeline/module.js'
import { confusionCell } from '../../src/report/metricNames.js'
import { mergeLogs } from '../../src/strategies/mergeLogs.js'
import { asyncOnly, quiet, useBackend } from '../support/backend.js'

/** Fixtures from scripts/metrics-fixtures.py (scikit-learn). */
interface RankingRef {
  readonly [bins: string]: { readonly auroc: number; readonly averagePrecision: number }
}
interface Regression {
  readonly outputs: number
  readonly prediction: number[]
  readonly target: number[]
  readonly r2: number
  readonly explainedVariance: number
  readonly mape: number
}
const F = JSON.parse(readFileSync(new URL('../fixtures/metrics/sklearn.json', import.meta.url), 'utf8')) as {
  multiclass: {
    classes: number
    logits: number[]
    probabilities: number[]
    labels: number[]
    confusion: number[][]
    scores: Record<string, number>
    topk: Record<string, number>
    ranking: RankingRef
  }
  binary: {
    scores: number[]
    tiedScores: number[]
    labels: number[]
    confusion: number[][]
    classScores: Record<string, number>
    classScoresPositive0: Record<string, number>
    ranking: RankingRef
    tiedRanking: RankingRef
  }
  regression: Regression
  regression3: Regression
}

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

const TOL = 1e-6
const close = (actual: number, expected: number, tol = TOL): void => {
  expect(Number.isFinite(actual)).toBe(true)
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tol)
}

/** Reads a state's statistics back to the host (and releases its tensor). */
const host = (s: MetricState): HostMetricState => {
  if (!(s.stats instanceof tf.Tensor)) return { metric: s.metric, stats: s.stats, weight: s.weight }
  const stats = Array.from(s.stats.dataSync())
  s.stats.dispose()
  return { metric: s.metric, stats, weight: s.weight }
}

const N = F.multiclass.labels.length
const C = F.multiclass.classes
const mcLogits = (from = 0, to = N) => tf.tensor2d(F.multiclass.logits.slice(from * C, to * C), [to - from, C])
const mcProbs = (from = 0, to = N) => tf.tensor2d(F.multiclass.probabilities.slice(from * C, to * C), [to - from, C])
const mcLabels = (from = 0, to = N) => tf.tensor1d(F.multiclass.labels.slice(from, to), 'int32')
const bScores = (from = 0, to = N, tied = false) => tf.tensor1d((tied ? F.binary.tiedScores : F.binary.scores).slice(from, to))
const bLabels = (from = 0, to = N) => tf.tensor1d(F.binary.labels.slice(from, to), 'int32')
const regPred = (r: Regression, from = 0, to = N) => tf.tensor(r.prediction.slice(from * r.outputs, to * r.outputs), r.outputs === 1 ? [to - from] : [to - from, r.outputs])
const regTarget = (r: Regression, from = 0, to = N) => tf.tensor(r.target.slice(from * r.outputs, to * r.outputs), r.outputs === 1 ? [to - from] : [to - from, r.outputs])

const value = (s: MetricState): number => metricValue(host(s))
const averages: readonly Exclude<Average, 'binary'>[] = ['macro', 'micro', 'weighted']
const kinds = { precision, recall, f1 } as const

describe('classification metrics against scikit-learn', () => {
  it('the confusion matrix of multiclass logits', () => {
    expect(confusionMatrix(host(confusion(mcLogits(), mcLabels())))).toEqual(F.multiclass.confusion)
  })

  it('precision, recall and F1, macro, micro and weighted, on multiclass logits (and one-hot labels)', () => {
    for (const [name, fn] of Object.entries(kinds))
      for (const average of averages) {
        close(value(fn(mcLogits(), mcLabels(), { average })), F.multiclass.scores[`${name}/${average}`] as number)
        close(value(fn(mcLogits(), tf.oneHot(mcLabels(), C), { average })), F.multiclass.scores[`${name}/${average}`] as number)
      }
  })

  it('top-k accuracy (metrics.accuracy with k)', () => {
    for (const k of [1, 2, 3]) {
      const s = accuracy(mcLogits(), mcLabels(), { k })
      close((s.sum as tf.Scalar).dataSync()[0]! / s.weight, F.multiclass.topk[String(k)] as number)
    }
  })

  it('binary precision, recall and F1 from probabilities at the 0.5 threshold, [batch] and [batch, 1]', () => {
    expect(confusionMatrix(host(confusion(bScores(), bLabels())))).toEqual(F.binary.confusion)
    for (const [name, fn] of Object.entries(kinds)) {
      close(value(fn(bScores(), bLabels())), F.binary.classScores[`${name}/binary`] as number) // binary is the default for 2 classes
      close(value(fn(tf.expandDims(bScores(), 1), tf.expandDims(bLabels(), 1))), F.binary.classScores[`${name}/binary`] as number)
      close(value(fn(bScores(), bLabels(), { positive: 0 })), F.binary.classScoresPositive0[name] as number)
      for (const average of averages) close(value(fn(bScores(), bLabels(), { average })), F.binary.classScores[`${name}/${average}`] as number)
    }
  })
})

describe('AUROC and average precision against scikit-learn', () => {
  const cases = [
    { name: 'binary', scores: () => bScores(), labels: () => bLabels(), ref: F.binary.ranking },
    { name: 'binary with tied scores', scores: () => bScores(0, N, true), labels: () => bLabels(), ref: F.binary.tiedRanking },
    { name: 'multiclass one-vs-rest macro', scores: () => mcProbs(), labels: () => mcLabels(), ref: F.multiclass.ranking },
  ]
  for (const c of cases)
    it(`${c.name}: exact, and binned equal to scikit-learn on the binned scores and within the stated bound of the exact value`, () => {
      for (const [kind, fn] of [['auroc', auroc], ['averagePrecision', averagePrecision]] as const) {
        const exact = host(fn(c.scores(), c.labels(), { bins: 'exact' }))
        close(metricValue(exact), c.ref.exact![kind])
        expect(rankingErrorBound(exact)).toBe(0)
        for (const bins of [10, 100, 1000]) {
          const binned = host(fn(c.scores(), c.labels(), { bins }))
          close(metricValue(binned), c.ref[String(bins)]![kind])
          const bound = rankingErrorBound(binned)
          expect(Math.abs(metricValue(binned) - c.ref.exact![kind])).toBeLessThanOrEqual(bound + 1e-12)
          if (bins === 10) expect(bound).toBeGreaterThan(0) // the bound is not vacuous: coarse bins do err
        }
      }
    })

  it('the default is 1000 bins', () => {
    expect(host(auroc(bScores(), bLabels())).stats).toHaveLength(2000)
  })
})

describe('regression metrics against scikit-learn', () => {
  for (const r of [F.regression, F.regression3])
    it(`R², explained variance and MAPE, ${r.outputs} output(s)`, () => {
      close(value(r2(regPred(r), regTarget(r))), r.r2)
      close(value(explainedVariance(regPred(r), regTarget(r))), r.explainedVariance)
      const m = mape(regPred(r), regTarget(r))
      close((m.sum as tf.Scalar).dataSync()[0]! / m.weight, r.mape)
    })
})

/** Every state-valued metric on rows [from, to) of the fixtures. */
const allMetrics = (from: number, to: number): Record<string, MetricState> => ({
  confusion: confusion(mcLogits(from, to), mcLabels(from, to)),
  ...Object.fromEntries(
    Object.entries(kinds).flatMap(([name, fn]) => [
      ...averages.map((average) => [`${name}/${average}`, fn(mcLogits(from, to), mcLabels(from, to), { average })]),
      [`${name}/binary`, fn(bScores(from, to), bLabels(from, to))],
    ]),
  ),
  'auroc/exact': auroc(mcProbs(from, to), mcLabels(from, to), { bins: 'exact' }),
  'auroc/100': auroc(mcProbs(from, to), mcLabels(from, to), { bins: 100 }),
  'ap/exact': averagePrecision(bScores(from, to, true), bLabels(from, to), { bins: 'exact' }),
  'ap/100': averagePrecision(bScores(from, to), bLabels(from, to), { bins: 100 }),
  r2: r2(regPred(F.regression3, from, to), regTarget(F.regression3, from, to)),
  explainedVariance: explainedVariance(regPred(F.regression, from, to), regTarget(F.regression, from, to)),
})

const wholeValues = (): Record<string, HostMetricState> =>
  Object.fromEntries(Object.entries(allMetrics(0, N)).map(([k, s]) => [k, host(s)]))

describe('merging per-rank states equals computing on the whole data', () => {
  for (const cuts of [[0, 137, N], [0, 50, 211, N]])
    it(`in ${cuts.length - 1} parts (the metrics' monoids, in either grouping)`, () => {
      const whole = wholeValues()
      const parts = cuts.slice(0, -1).map((from, i) => Object.fromEntries(Object.entries(allMetrics(from, cuts[i + 1]!)).map(([k, s]) => [k, host(s)])))
      for (const [name, w] of Object.entries(whole)) {
        const m = metricMonoid(w.metric)
        const states = parts.map((p) => p[name]!)
        const left = states.reduce(m.concat, m.empty)
        const right = states.reduceRight((acc, s) => m.concat(s, acc), m.empty)
        expect(left.weight).toBe(w.weight)
        for (const merged of [left, right]) {
          if (name === 'confusion') expect(confusionMatrix(merged)).toEqual(F.multiclass.confusion)
          close(metricValue(merged), metricValue(w), 1e-9 + (name === 'r2' || name === 'explainedVariance' ? TOL : 0))
        }
      }
    })

  it("through the loop's read-back and DDP's log merge (3 ranks), and an epoch's accumulation of batches", () => {
    const whole = wholeValues()
    const cuts = [0, 100, 180, N]
    const ranks = cuts.slice(0, -1).map((from, i) => {
      const logs: Logs = allMetrics(from, cuts[i + 1]!)
      return pendingLogs(logs, { onStep: false, onEpoch: true }, cuts[i + 1]! - from).map((p) => {
        const h = host({ metric: p.metric!, stats: p.source as tf.Tensor, weight: p.weight })
        return readLog(p, h.stats)
      })
    })
    const merged = mergeLogs(ranks)
    const epoch = epochValues(ranks.reduce((acc, logs) => addToEpoch(acc, logs), addToEpoch([], [])))
    for (const l of merged) {
      const w = whole[l.pending.name]!
      close(l.value, metricValue(w), 1e-6)
      expect(l.pending.weight).toBe(w.weight)
    }
    expect(epoch['confusion/2/1']).toBe(F.multiclass.confusion[2]![1])
    close(epoch['f1/macro'] as number, F.multiclass.scores['f1/macro'] as number)
    close(epoch['auroc/exact'] as number, F.multiclass.ranking.exact!.auroc)
  })

  it("a checkpoint's loop state keeps an epoch's metric statistics", () => {
    const logs = pendingLogs({ 'train/f1': f1(mcLogits(), mcLabels()) }, { onStep: false, onEpoch: true }, N).map((p) =>
      readLog(p, host({ metric: p.metric!, stats: p.source as tf.Tensor, weight: p.weight }).stats),
    )
    const epochLogs = [...addToEpoch([], logs)]
    const loop = { phase: 'afterStep', epoch: 0, batchIdx: 0, globalStep: 1, totalBatches: 1, epochsFinished: 0, epochLogs, epochProgBar: [], lastValidation: {}, lossScale: { scale: 1, goodSteps: 0 }, seed: 0, lastStepMetrics: {}, stopReason: null, sourceExhausted: false }
    const decoded = LoopStateCodec.decode(JSON.parse(JSON.stringify(loop)))
    expect(isRight(decoded) && decoded.right.epochLogs[0]![1].metric).toEqual(epochLogs[0]![1].metric)
  })

  it('tells metric states from stats', () => {
    expect(isMetricState(f1(mcLogits(), mcLabels()))).toBe(true)
    expect(isMetricState(accuracy(mcLogits(), mcLabels()))).toBe(false)
  })
})

describe('an epoch value logged through fit', () => {
  it.each(['synchronous', 'asynchronous'])("equals scikit-learn's over the whole set (several batches, training and validation; %s reads)", async (reads) => {
    type Batch = { x: tf.Tensor; y: tf.Tensor }
    const module = defineModule({
      init: () => ({ params: { w: tf.zeros([1]) }, state: {} }),
      trainingStep: (model, batch: Batch) => {
        const logits = tf.add(batch.x, tf.mul(model.params.w, 0))
        return {
          loss: tf.mean(tf.square(tf.sub(model.params.w, 1))) as tf.Scalar,
          logs: {
            'train/f1': log(f1(logits, batch.y, { average: 'weighted' }), { onStep: false, onEpoch: true }),
            'train/confusion': log(confusion(logits, batch.y), { onStep: false, onEpoch: true }),
          },
        }
      },
      validationStep: (model, batch: Batch) => {
        const logits = tf.add(batch.x, tf.mul(model.params.w, 0))
        return {
          'val/precision': precision(logits, batch.y, { average: 'macro' }),
          'val/recall': recall(logits, batch.y, { average: 'micro' }),
          'val/auroc': auroc(tf.softmax(logits), batch.y, { bins: 'exact' }),
          'val/confusion': confusion(logits, batch.y),
        }
      },
      optimizer: optim.sgd({ lr: 0.1 }),
    })
    const columns = { x: { data: Float32Array.from(F.multiclass.logits), shape: [C] }, y: { data: Int32Array.from(F.multiclass.labels), shape: [1] } }
    const data = { train: fromArrays(columns, { batchSize: 64, shuffle: true }), val: fromArrays(columns, { batchSize: 64 }) }
    const before = tf.memory().numTensors
    const events = await lastValueFrom(
      fit(module, data, { maxEpochs: 1, seed: 3, defaultRootDir: '/run' }, { backend: reads === 'synchronous' ? backend : asyncOnly(backend, 0), fs: memoryFileSystem(), signals: quiet, clock: manualClock(1_000) }).pipe(toArray()),
    )
    const epochEnd = events.findLast((e) => e.type === 'epochEnd')
    const validation = events.findLast((e) => e.type === 'validationEnd')
    if (epochEnd?.type !== 'epochEnd' || validation?.type !== 'validationEnd') throw new Error('no epoch end')
    close(epochEnd.metrics['train/f1'] as number, F.multiclass.scores['f1/weighted'] as number)
    close(validation.metrics['val/precision'] as number, F.multiclass.scores['precision/macro'] as number)
    close(validation.metrics['val/recall'] as number, F.multiclass.scores['recall/micro'] as number)
    // softmax on the device differs from scikit-learn's float32 probabilities in the last bits: no pair of scores is that close.
    close(validation.metrics['val/auroc'] as number, F.multiclass.ranking.exact!.auroc)
    for (let a = 0; a < C; a++)
      for (let p = 0; p < C; p++) {
        expect(validation.metrics[`val/confusion/${a}/${p}`]).toBe(F.multiclass.confusion[a]![p])
        expect(epochEnd.metrics[`train/confusion/${a}/${p}`]).toBe(F.multiclass.confusion[a]![p])
      }
    expect(validation.metrics['val/confusion']).toBeUndefined()
    // The names the report reads as the cells of a matrix.
    expect(confusionCell('val/confusion/2/1')).toEqual({ matrix: 'val', actual: '2', predicted: '1' })
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 1) // the final state's one parameter
  })
})
