/**
 * The JSON Schema files that `npm run build:schema` writes (schema/rxtrain.schema.json and
 * schema/rxtrain-sweep.schema.json), generated from the codecs that validate configs at run time.
 * test/config/schemaFiles.test.ts checks that the committed files are what this produces.
 */
import { readFileSync } from 'node:fs'
import type * as t from 'io-ts'
import { jsonSchemaOf, type JsonSchema } from '../src/config/jsonSchema.js'
import { RunConfigCodec } from '../src/config/runConfig.js'
import { TrainerOptionsCodec } from '../src/pipeline/options.js'
import { SweepSpecCodec } from '../src/sweep/sweepSpec.js'

/** A doc comment's text on one line: stars and indentation removed, `code` marks kept. */
const commentText = (raw: string): string =>
  raw
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .filter((l) => l !== '')
    .join(' ')

/**
 * The trainer options' doc comments (src/pipeline/options.ts), by option codec: the comments are
 * the options' documentation, and editors show them on hover.
 */
export const trainerDescriptions = (source = readFileSync(new URL('../src/pipeline/options.ts', import.meta.url), 'utf8')): Map<t.Mixed, string> => {
  const start = source.indexOf('export const TrainerOptionsCodec')
  const body = source.slice(start)
  const out = new Map<t.Mixed, string>()
  for (const m of body.matchAll(/\/\*\*([\s\S]*?)\*\/\s*(\w+)\s*[:,]/g)) {
    const [, comment, name] = m as unknown as [string, string, string]
    const codec = (TrainerOptionsCodec.props as Readonly<Record<string, t.Mixed>>)[name]
    if (codec !== undefined && !out.has(codec)) out.set(codec, commentText(comment))
  }
  return out
}

/** The run config's schema (`rxtrain fit --config run.yaml`). */
export const runConfigSchema = (): JsonSchema =>
  jsonSchemaOf(RunConfigCodec, {
    title: 'rxtrain run config',
    description:
      'A training run for `rxtrain fit --config <file>`: the model and data by module and export, the trainer options, and the hooks in pipe order. Generated from rxtrain\'s codecs by `npm run build:schema`.',
    descriptions: trainerDescriptions(),
  })

/** The sweep spec's schema (`rxtrain sweep --config sweep.yaml`). Its parser rejects unknown keys, so objects are closed. */
export const sweepSpecSchema = (): JsonSchema =>
  jsonSchemaOf(SweepSpecCodec, {
    title: 'rxtrain sweep',
    description:
      'A sweep for `rxtrain sweep --config <file>`: the run config(s) it starts from and the config paths it varies (grid or random search). Generated from rxtrain\'s codecs by `npm run build:schema`.',
    exactObjects: true,
  })

/** Each schema file (path from the repository root) and its text. */
export const schemaFiles = (): Readonly<Record<string, string>> => ({
  'schema/rxtrain.schema.json': `${JSON.stringify(runConfigSchema(), null, 2)}\n`,
  'schema/rxtrain-sweep.schema.json': `${JSON.stringify(sweepSpecSchema(), null, 2)}\n`,
})
