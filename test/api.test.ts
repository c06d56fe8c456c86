import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { apiEntries } from './support/api.js'

// The public API a user can hold in their head: few names, each documented, internals not exported.
const entries = apiEntries()
const names = entries.map((e) => e.name)

describe('the public index (src/index.ts)', () => {
  it('has at most 130 named exports (values and types; a namespace counts once)', () => {
    expect(entries.length).toBeLessThanOrEqual(130)
  })

  it('documents every export', () => {
    expect(entries.filter((e) => !e.documented).map((e) => e.name)).toEqual([])
  })

  it("documents every member of its namespaces (nn, optim, metrics, random, effects, data, tuner)", () => {
    const namespaces = entries.filter((e) => e.namespace)
    expect(namespaces.map((e) => e.name).sort()).toEqual(['data', 'effects', 'metrics', 'nn', 'optim', 'random', 'tuner'])
    expect(namespaces.flatMap((e) => e.members.filter((m) => !m.documented).map((m) => `${e.name}.${m.name}`))).toEqual([])
  })

  it('does not export internals', () => {
    const internals = ['releaseGeneration', 'encodeCheckpoint', 'LoopStateCodec', 'isOptimizerStepBatch', 'candidatesOf', 'logRowOf', 'cpuBackend', 'selectBackend', 'agreement', 'castHalf', 'TrainerOptionsCodec', 'defaultOptions', 'writeCheckpoint', 'hasTag']
    expect(names.filter((n) => internals.includes(n))).toEqual([])
  })

  it('exports the names the README builds on', () => {
    for (const n of ['fit', 'defineModule', 'startBackend', 'trainStep', 'EventOf', 'FitEvent', 'hook', 'checkpoint', 'nn', 'optim', 'metrics', 'random', 'effects', 'data'])
      expect(names).toContain(n)
  })
})

describe('the public index at run time', () => {
  it('has the same value exports as the type checker sees (no stray runtime names)', async () => {
    const runtime = Object.keys(await import('../src/index.js')).sort()
    expect(runtime.every((n) => names.includes(n))).toBe(true)
  })
})

describe("the README's Public API section", () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.split('\n## Public API\n')[1]?.split('\n## ')[0] ?? ''

  it('names every export, in backticks', () => {
    expect(section).not.toBe('')
    expect(names.filter((n) => !section.includes(`\`${n}\``))).toEqual([])
  })

  it('gives the count of exports', () => {
    expect(section).toContain(`exports ${entries.length} names`)
  })
})
