import { describe, expect, it } from 'vitest'
import { parseMetricsCsv, parseMetricsJsonl, splitCsvLine } from '../../src/report/metricsFiles.js'

describe('metrics files', () => {
  it('reads metrics.csv as csvLogger writes it: empty cells are values not logged, non-finite values kept', () => {
    const text = ['epoch,step,train/loss_step,lr,val/loss', '0,49,0.25,0.002,', '0,99,nan,0.0019,', '0,99,,,0.11', '1,149,inf,-inf,'].join('\n')
    const { points, skippedLines } = parseMetricsCsv(`${text}\n`)
    expect(skippedLines).toBe(0)
    expect(points.filter((p) => p.name === 'val/loss')).toEqual([{ name: 'val/loss', epoch: 0, step: 99, value: 0.11 }])
    expect(points.filter((p) => p.name === 'train/loss_step').map((p) => p.value)).toEqual([0.25, Number.NaN, Infinity])
    expect(points.find((p) => p.name === 'lr' && p.step === 149)?.value).toBe(-Infinity)
    expect(points).toHaveLength(7)
  })

  it('keeps quoted column names with commas, and skips a torn last line', () => {
    expect(splitCsvLine('epoch,step,"a,b","say ""hi"""')).toEqual(['epoch', 'step', 'a,b', 'say "hi"'])
    const { points, skippedLines } = parseMetricsCsv('epoch,step,"a,b",c\n0,1,2,3\n1,2,4')
    expect(points.map((p) => [p.name, p.value])).toEqual([['a,b', 2], ['c', 3]])
    expect(skippedLines).toBe(1)
  })

  it('reads metrics.jsonl with its times and its non-finite strings', () => {
    const lines = [
      { kind: 'train', epoch: 0, step: 1, time: 1000, metrics: { 'train/loss': 0.5 } },
      { kind: 'val', epoch: 0, step: 1, time: 4000, metrics: { 'val/loss': 'NaN' } },
    ].map((l) => JSON.stringify(l))
    const { points, skippedLines, timeSpan } = parseMetricsJsonl(`${lines.join('\n')}\n{"kind":"tra`)
    expect(points).toEqual([
      { name: 'train/loss', epoch: 0, step: 1, value: 0.5 },
      { name: 'val/loss', epoch: 0, step: 1, value: Number.NaN },
    ])
    expect(skippedLines).toBe(1)
    expect(timeSpan).toEqual([1000, 4000])
  })

  it('reads an empty file as no points', () => {
    expect(parseMetricsCsv('')).toEqual({ points: [], skippedLines: 0 })
    expect(parseMetricsJsonl('').points).toEqual([])
  })
})
