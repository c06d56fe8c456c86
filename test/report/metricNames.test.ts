import { describe, expect, it } from 'vitest'
import { axisTitleOf, confusionCell, groupRank, metricRole, scaleTypeOf, slug } from '../../src/report/metricNames.js'

describe('metric names', () => {
  it('puts train and validation values of one quantity on one chart, one line each', () => {
    expect(metricRole('train/loss_step')).toEqual({ group: 'loss', series: 'train (step)' })
    expect(metricRole('train/loss_epoch')).toEqual({ group: 'loss', series: 'train (epoch mean)' })
    expect(metricRole('val/loss')).toEqual({ group: 'loss', series: 'val' })
    expect(metricRole('train/acc')).toEqual({ group: 'acc', series: 'train' })
    expect(metricRole('lr')).toEqual({ group: 'lr', series: 'lr' })
    expect(metricRole('optim/lr')).toEqual({ group: 'optim/lr', series: 'optim/lr' })
    expect(metricRole('train/_step')).toEqual({ group: '_step', series: 'train' })
  })

  it('draws learning rates on a log10 scale and the loss scale on a log2 scale, the rest linearly', () => {
    expect(scaleTypeOf('lr')).toEqual({ type: 'log', base: 10 })
    expect(scaleTypeOf('optim/lr')).toEqual({ type: 'log', base: 10 })
    expect(scaleTypeOf('lr-adam')).toEqual({ type: 'log', base: 10 })
    expect(scaleTypeOf('learning_rate')).toEqual({ type: 'log', base: 10 })
    expect(scaleTypeOf('lossScale')).toEqual({ type: 'log', base: 2 })
    expect(scaleTypeOf('loss_scale')).toEqual({ type: 'log', base: 2 })
    expect(scaleTypeOf('loss')).toEqual({ type: 'linear' })
    expect(scaleTypeOf('lrs_seen')).toEqual({ type: 'linear' })
  })

  it('titles axes with units where the name tells them', () => {
    expect(axisTitleOf('lr')).toBe('learning rate (log scale)')
    expect(axisTitleOf('acc')).toBe('acc (fraction correct, 0–1)')
    expect(axisTitleOf('loss')).toBe('loss (mean per example)')
    expect(axisTitleOf('grad_norm')).toBe('gradient norm (L2)')
    expect(axisTitleOf('grad/norm')).toBe('gradient norm (L2)')
    expect(axisTitleOf('lossScale')).toMatch(/^loss scale/)
    expect(axisTitleOf('epoch_time')).toBe('epoch_time (seconds)')
    expect(axisTitleOf('mae')).toBe('mae')
  })

  it('orders charts: losses first, then metrics, then learning rate, gradient norm, loss scale', () => {
    const groups = ['lossScale', 'grad_norm', 'lr', 'acc', 'loss']
    expect([...groups].sort((a, b) => groupRank(a) - groupRank(b))).toEqual(['loss', 'acc', 'lr', 'grad_norm', 'lossScale'])
  })

  it('recognises confusion-matrix cells', () => {
    expect(confusionCell('val/confusion/3/5')).toEqual({ matrix: 'val', actual: '3', predicted: '5' })
    expect(confusionCell('confusion_matrix/cat/dog')).toEqual({ matrix: '', actual: 'cat', predicted: 'dog' })
    expect(confusionCell('val/confusion')).toBeUndefined()
    expect(confusionCell('val/loss')).toBeUndefined()
  })

  it('makes file-name-safe ids', () => {
    expect(slug('val/loss')).toBe('val-loss')
    expect(slug('//')).toBe('chart')
  })
})
