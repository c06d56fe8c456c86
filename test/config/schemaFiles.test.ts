import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { schemaFiles } from '../../scripts/schemaSource.js'
import type { JsonSchema } from '../../src/config/jsonSchema.js'
import { keywordsOutsideSubset, schemaErrors } from './schemaCheck.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')
const schemaOf = (path: string) => JSON.parse(read(path)) as JsonSchema

/** Every examples/**\/<name> file, relative to the repository root. */
const examples = (name: string): string[] =>
  (readdirSync(join(root, 'examples'), { recursive: true }) as string[])
    .filter((f) => f.split(/[\\/]/).at(-1) === name)
    .map((f) => join('examples', f))
    .sort()

describe('the shipped JSON Schemas', () => {
  it('are current: `npm run build:schema` would write the committed files unchanged', () => {
    for (const [path, text] of Object.entries(schemaFiles())) expect(read(path) === text, `${path} is stale: run npm run build:schema`).toBe(true)
  })

  it('use only the keywords that the test checker implements (so the example checks below are real)', () => {
    for (const path of Object.keys(schemaFiles())) expect(keywordsOutsideSubset(schemaOf(path))).toEqual([])
  })
})

describe.each([
  ['run.yaml', 'schema/rxtrain.schema.json'],
  ['sweep.yaml', 'schema/rxtrain-sweep.schema.json'],
])('examples/**/%s', (name, schemaPath) => {
  const files = examples(name)

  it('exist (the examples show their runs and sweeps as configs)', () => {
    expect(files.length).toBeGreaterThan(0)
  })

  it.each(files.map((f) => [f]))('%s names the schema on its first line, and validates against it', (file) => {
    const text = read(file)
    const first = text.split('\n')[0] ?? ''
    const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first)
    expect(m, `${file} must start with # yaml-language-server: $schema=<path to ${schemaPath}>`).not.toBeNull()
    expect(relative(root, resolve(root, dirname(file), (m as RegExpExecArray)[1] as string))).toBe(schemaPath)
    expect(schemaErrors(schemaOf(schemaPath), parse(text) as unknown)).toEqual([])
  })
})
