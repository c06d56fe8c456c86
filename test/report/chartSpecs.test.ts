import { describe, expect, it } from 'vitest'
import { confusionData, confusionSpec, curveData, curveSpec, lrFinderSpec, reportCharts } from '../../src/report/chartSpecs.js'
import type { MetricPoint, RunData } from '../../src/report/runData.js'

const run = (label: string, points: MetricPoint[], extra: Partial<RunData> = {}): RunData => ({ dir: `/runs/${label}`, label, points, checkpoints: [], notes: [], ...extra })
const p = (name: string, epoch: number, step: number, value: number): MetricPoint => ({ name, epoch, step, value })

/** Two epochs of 10 steps: per-step loss at 4 and 9 (and 14, 19), epoch means and validations at 9 and 19, lr each logged step. */
const mnistLike = (label = 'version_0', shift = 0) =>
  run(label, [
    p('train/loss_step', 0, 4, 2 + shift),
    p('lr', 0, 4, 1e-3),
    p('train/loss_step', 0, 9, 1.5 + shift),
    p('lr', 0, 9, 5e-4),
    p('val/loss', 0, 9, 1.4 + shift),
    p('train/loss_epoch', 0, 9, 1.8 + shift),
    p('train/loss_step', 1, 14, 1.2 + shift),
    p('lr', 1, 14, 2e-4),
    p('train/loss_step', 1, 19, 1.0 + shift),
    p('lr', 1, 19, 0),
    p('val/loss', 1, 19, 1.1 + shift),
    p('train/loss_epoch', 1, 19, 1.1 + shift),
    p('val/acc', 1, 19, Number.NaN),
  ])

describe('curve data', () => {
  const data = curveData([mnistLike()])
  const loss = data.find((d) => d.group === 'loss')

  it('groups train and validation of one quantity, losses first and the learning rate after the metrics', () => {
    expect(data.map((d) => d.group)).toEqual(['loss', 'acc', 'lr'])
    expect(new Set(loss?.byStep.map((r) => r.series))).toEqual(new Set(['train (step)', 'train (epoch mean)', 'val']))
    expect(loss?.byStep.filter((r) => r.series === 'train (step)').map((r) => r.step)).toEqual([4, 9, 14, 19])
  })

  it('against epoch: the last value of each epoch, leaving out per-step lines whose epoch mean is logged', () => {
    expect(loss?.byEpoch.map((r) => [r.series, r.epoch, r.value])).toEqual([
      ['train (epoch mean)', 0, 1.8],
      ['train (epoch mean)', 1, 1.1],
      ['val', 0, 1.4],
      ['val', 1, 1.1],
    ])
    // lr has no epoch twin: its last value in each epoch (epoch 1's last value, 0, cannot be on a log scale)
    expect(data.find((d) => d.group === 'lr')?.byEpoch.map((r) => [r.epoch, r.value])).toEqual([
      [0, 5e-4],
      [1, 2e-4],
    ])
  })

  it('counts the values it cannot draw: non-finite ones, and values ≤ 0 on a log scale', () => {
    expect(data.find((d) => d.group === 'lr')?.dropped).toBe(1)
    expect(data.find((d) => d.group === 'acc')).toMatchObject({ dropped: 1, byStep: [] })
  })
})

describe('curve specs', () => {
  const [loss, , lr] = curveData([mnistLike()])
  type Panel = { encoding: Record<string, { field?: string; title?: string; scale?: { type?: string } }>; layer: { mark: { type: string } }[] }

  it('puts step and epoch side by side, sharing the y scale and the legend, with titled axes', () => {
    const spec = curveSpec(loss as NonNullable<typeof loss>, false) as { hconcat: Panel[]; resolve: unknown; title: { text: string } }
    expect(spec.title.text).toBe('loss')
    expect(spec.hconcat).toHaveLength(2)
    const [step, epoch] = spec.hconcat as [Panel, Panel]
    expect(step.encoding.x).toMatchObject({ field: 'step', title: 'step (optimizer steps)' })
    expect(epoch.encoding.x).toMatchObject({ field: 'epoch', title: 'epoch (from 0)' })
    expect(step.encoding.y?.title).toBe('loss (mean per example)')
    expect(step.encoding.color?.field).toBe('series')
    expect(spec.resolve).toMatchObject({ scale: { y: 'shared', color: 'shared' } })
    // short lines get their points drawn too
    expect(step.layer.map((l) => l.mark.type)).toEqual(['line', 'point'])
  })

  it('draws the learning rate on a log scale and says what it left out', () => {
    const spec = curveSpec(lr as NonNullable<typeof lr>, false) as { hconcat: Panel[]; title: { subtitle?: string[] } }
    expect(spec.hconcat[0]?.encoding.y?.scale?.type).toBe('log')
    expect(spec.hconcat[0]?.encoding.y?.title).toBe('learning rate (log scale)')
    expect(spec.title.subtitle?.[0]).toMatch(/^1 value\(s\) not drawn/)
  })

  it('with several runs, colours by run (the legend names the runs) and dashes by series', () => {
    const [both] = curveData([mnistLike('a'), mnistLike('b', 1)])
    const spec = curveSpec(both as NonNullable<typeof both>, true) as { hconcat: (Panel & { data: { values: { run: string }[] } })[] }
    const step = spec.hconcat[0] as Panel & { data: { values: { run: string }[] }; layer: { encoding: Record<string, { field: string }> }[] }
    expect(step.encoding.color).toMatchObject({ field: 'run', title: 'run' })
    expect(step.layer[0]?.encoding.strokeDash?.field).toBe('series')
    expect(new Set(step.data.values.map((v) => v.run))).toEqual(new Set(['a', 'b']))
  })

  it('a run with only per-step values gets one panel (no empty epoch panel)', () => {
    const [only] = curveData([run('r', [p('train/loss_step', 0, 1, 1), p('train/loss_step', 0, 2, 0.5)])])
    const spec = curveSpec({ ...(only as NonNullable<typeof only>) }, false)
    expect('hconcat' in spec).toBe(false)
    expect(spec).toMatchObject({ encoding: { x: { field: 'step' } } })
  })
})

describe('confusion matrix', () => {
  const cells = (step: number, scale: number) => [
    p('val/confusion/0/0', 0, step, 8 * scale),
    p('val/confusion/0/1', 0, step, 2 * scale),
    p('val/confusion/1/0', 0, step, 1 * scale),
    p('val/confusion/1/1', 0, step, 9 * scale),
    p('val/confusion/10/10', 0, step, 3 * scale),
  ]
  const data = confusionData([run('r', [...cells(5, 1), ...cells(10, 2), p('val/loss', 0, 10, 1)])])

  it('takes the last logged value of each cell, and keeps cells out of the curves', () => {
    expect(data).toHaveLength(1)
    expect(data[0]).toMatchObject({ matrix: 'val', step: 10 })
    expect(data[0]?.cells.find((c) => c.actual === '0' && c.predicted === '1')?.value).toBe(4)
    expect(curveData([run('r', cells(5, 1))])).toEqual([])
  })

  it('is a heat map with actual class down and predicted across, classes in numeric order', () => {
    const spec = confusionSpec(data[0] as NonNullable<(typeof data)[0]>, false) as { encoding: Record<string, { field: string; sort: string[]; title: string }>; layer: { mark: { type: string } }[] }
    expect(spec.encoding.x).toMatchObject({ field: 'predicted', title: 'predicted class', sort: ['0', '1', '10'] })
    expect(spec.encoding.y).toMatchObject({ field: 'actual', title: 'actual class' })
    expect(spec.layer.map((l) => l.mark.type)).toEqual(['rect', 'text'])
  })
})

describe('lr finder and the chart list', () => {
  const finder = { points: [1e-5, 1e-4, 1e-3, 1e-2, 1e-1].map((lr, i) => ({ lr, loss: [2.3, 2.1, 1.2, 0.9, 4][i] as number })), suggestion: 1e-3 }

  it('draws loss against a log-scaled learning rate, with the suggestion marked', () => {
    const spec = lrFinderSpec(finder, 'r', false) as { layer: { mark: { type: string }; encoding: { x: { scale?: { type: string }; title?: string } } }[] }
    expect(spec.layer.map((l) => l.mark.type)).toEqual(['line', 'rule', 'text'])
    expect(spec.layer[0]?.encoding.x).toMatchObject({ scale: { type: 'log' }, title: 'learning rate (log scale)' })
  })

  it('lists curves, confusion matrices and lr-finder curves with unique file ids, and no empty chart', () => {
    const charts = reportCharts([mnistLike(), run('other', [p('val/confusion/0/0', 0, 1, 1)], { lrFinder: finder })])
    expect(charts.map((c) => [c.id, c.kind])).toEqual([
      ['01-loss', 'curves'],
      ['02-lr', 'curves'],
      ['03-confusion-val-other', 'confusion'],
      ['04-lr-finder-other', 'lrFinder'],
    ])
    expect(charts.every((c) => c.points > 0)).toBe(true)
    expect(reportCharts([run('empty', [])])).toEqual([])
  })
})
