import { describe, expect, it } from 'vitest'
import { apiEntries } from './support/api.js'
import { checkApiExamples } from './support/apiExamples.js'

// Every public export, and every member of the public namespaces, shows its use in an @example,
// and every example type-checks as a user's file would (strict, under the project's options).
const entries = apiEntries()
const checked = checkApiExamples(entries)

describe('the public API’s examples', () => {
  it('one at least for every export of the package root', () => {
    expect(entries.filter((e) => !e.example).map((e) => e.name)).toEqual([])
  })

  it('one at least for every member of nn, optim, metrics, random, effects and data', () => {
    expect(entries.flatMap((e) => e.members.filter((m) => !m.example).map((m) => `${e.name}.${m.name}`))).toEqual([])
  })

  it('are found (the checker reads every tag)', () => {
    expect(checked.length).toBeGreaterThanOrEqual(entries.length)
  })

  it.each(checked.map((c) => [c.name, c] as const))('%s type-checks', (_, c) => {
    expect(c.errors, c.text).toEqual([])
  })
})
