import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { describe, expect, it } from 'vitest'
import { HookConfigCodec } from '../../src/config/hooksConfig.js'
import { DRAFT_07, type JsonSchema, jsonSchemaOf } from '../../src/config/jsonSchema.js'
import { described, kindUnion, strictObject } from '../../src/config/strictObject.js'
import { integer, nonEmptyString, oneOf } from '../../src/pipeline/optionTypes.js'
import { TrainerOptionsCodec } from '../../src/pipeline/options.js'
import { keywordsOutsideSubset, schemaErrors } from './schemaCheck.js'

/** The schema of a codec without the document's `$schema`, for comparing subschemas. */
const of = (codec: t.Mixed): JsonSchema => jsonSchemaOf(codec, { $schema: false })

describe('jsonSchemaOf', () => {
  it('writes the primitive types, literals and keyof enums', () => {
    expect(of(t.string)).toEqual({ type: 'string' })
    expect(of(t.number)).toEqual({ type: 'number' })
    expect(of(t.boolean)).toEqual({ type: 'boolean' })
    expect(of(t.null)).toEqual({ type: 'null' })
    expect(of(t.unknown)).toEqual({})
    expect(of(t.UnknownRecord)).toEqual({ type: 'object' })
    expect(of(t.UnknownArray)).toEqual({ type: 'array' })
    expect(of(t.literal('x'))).toEqual({ const: 'x' })
    expect(of(t.keyof({ min: null, max: null }))).toEqual({ enum: ['min', 'max'] })
  })

  it('writes objects: t.type requires its keys, t.partial does not, exact and strict ones are closed', () => {
    expect(of(t.type({ a: t.string }))).toEqual({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] })
    expect(of(t.partial({ a: t.string }))).toEqual({ type: 'object', properties: { a: { type: 'string' } } })
    expect(of(t.exact(t.type({ a: t.string })))).toEqual({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false })
    expect(of(t.strict({ a: t.number })).additionalProperties).toBe(false)
    expect(of(t.readonly(t.type({ a: t.number })))).toEqual({ type: 'object', properties: { a: { type: 'number' } }, required: ['a'] })
  })

  it('merges intersections of objects, so that closing an exact intersection keeps all its properties', () => {
    const merged = of(t.exact(t.intersection([t.type({ a: t.string }), t.partial({ b: t.number })])))
    expect(merged).toEqual({ type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } }, required: ['a'], additionalProperties: false })
    expect(schemaErrors(merged, { a: 'x', b: 1 })).toEqual([])
    expect(schemaErrors(merged, { a: 'x', c: 1 })).toEqual(["$: unknown property 'c'"])
    // allOf of two closed objects would reject every value with both keys: merging is what makes closing work
    expect(of(t.intersection([t.exact(t.type({ a: t.string })), t.exact(t.partial({ b: t.number }))])).allOf).toBeUndefined()
    // what cannot be merged stays an allOf
    expect(of(t.intersection([t.type({ a: t.string }), t.union([t.type({ b: t.number }), t.type({ c: t.number })])])).allOf).toHaveLength(2)
  })

  it('writes unions as anyOf, and unions of constants as one enum', () => {
    expect(of(t.union([t.literal('a'), t.literal(1)]))).toEqual({ enum: ['a', 1] })
    expect(of(t.union([t.string, t.number]))).toEqual({ anyOf: [{ type: 'string' }, { type: 'number' }] })
  })

  it('writes arrays, tuples and records', () => {
    expect(of(t.array(t.string))).toEqual({ type: 'array', items: { type: 'string' } })
    expect(of(t.readonlyArray(t.number))).toEqual({ type: 'array', items: { type: 'number' } })
    expect(of(t.tuple([t.string, t.number]))).toEqual({ type: 'array', items: [{ type: 'string' }, { type: 'number' }], minItems: 2, maxItems: 2 })
    expect(of(t.record(t.string, t.number))).toEqual({ type: 'object', additionalProperties: { type: 'number' } })
    expect(of(t.record(t.keyof({ a: null, b: null }), t.boolean))).toEqual({
      type: 'object',
      properties: { a: { type: 'boolean' }, b: { type: 'boolean' } },
      required: ['a', 'b'],
      additionalProperties: false,
    })
  })

  it('maps known refinements and ranges named in words to bounds, and other refinements to their base type', () => {
    expect(of(t.Int)).toEqual({ type: 'integer' })
    expect(of(t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0'))).toEqual({ type: 'integer', minimum: 0 })
    expect(of(t.refinement(t.number, (n) => n > 0, 'a number > 0'))).toEqual({ type: 'number', exclusiveMinimum: 0 })
    expect(of(t.refinement(t.number, (n) => n >= 1 && n <= 9, 'an integer in [1, 9]'))).toEqual({ type: 'integer', minimum: 1, maximum: 9 })
    expect(of(t.refinement(t.string, (s) => s.startsWith('x'), 'XString'))).toEqual({ type: 'string' })
    interface PositiveBrand {
      readonly Positive: unique symbol
    }
    expect(of(t.brand(t.number, (n): n is t.Branded<number, PositiveBrand> => n > 0, 'Positive'))).toEqual({ type: 'number' })
  })

  it("uses the schema that option types and rxtrain's own codecs state", () => {
    expect(of(integer(1))).toEqual({ type: 'integer', minimum: 1 })
    expect(of(integer(0, 100))).toEqual({ type: 'integer', minimum: 0, maximum: 100 })
    expect(of(oneOf(['a', 'b']))).toEqual({ enum: ['a', 'b'] })
    expect(of(nonEmptyString('a name'))).toEqual({ type: 'string', minLength: 1 })
    expect(of(strictObject('S', { a: t.string }, { b: t.number }))).toEqual({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'number' } },
      required: ['a'],
      additionalProperties: false,
    })
    expect(of(kindUnion('a number or a name', { number: t.number, string: t.string }))).toEqual({ anyOf: [{ type: 'number' }, { type: 'string' }] })
    // a codec that says nothing about itself accepts anything, named
    expect(of(new t.Type<string>('Opaque', t.string.is, t.string.validate, String))).toEqual({ description: 'Opaque' })
  })

  it('guards recursion with definitions and $ref, and the result validates nested values', () => {
    interface Tree {
      readonly value: number
      readonly children: readonly Tree[]
    }
    const TreeCodec: t.Type<Tree> = t.recursion('Tree', (self) => t.type({ value: t.number, children: t.readonlyArray(self) }))
    const schema = jsonSchemaOf(t.type({ root: TreeCodec }))
    expect(schema.properties?.['root']).toEqual({ $ref: '#/definitions/Tree' })
    expect(schema.definitions?.['Tree']?.properties?.['children']).toEqual({ type: 'array', items: { $ref: '#/definitions/Tree' } })
    expect(schemaErrors(schema, { root: { value: 1, children: [{ value: 2, children: [] }] } })).toEqual([])
    expect(schemaErrors(schema, { root: { value: 1, children: [{ value: 'x', children: [] }] } })).toEqual(['$.root.children[0].value: expected number, got "x"'])
    // a recursive codec that does not recur in fact is written inline
    expect(of(t.recursion('Flat', () => t.type({ a: t.string })))).toEqual({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] })
  })

  it('carries descriptions (attached, or given by codec) and the document header', () => {
    const a = described(t.string, 'The a.')
    const b = t.number
    const schema = jsonSchemaOf(t.type({ a, b }), { title: 'T', description: 'Doc.', descriptions: new Map([[b as t.Mixed, 'The b.']]) })
    expect(schema).toEqual({
      $schema: DRAFT_07,
      title: 'T',
      description: 'Doc.',
      type: 'object',
      properties: { a: { type: 'string', description: 'The a.' }, b: { type: 'number', description: 'The b.' } },
      required: ['a', 'b'],
    })
    expect(Object.keys(schema)[0]).toBe('$schema')
    // described copies: the original codec stays without a description
    expect(of(t.string)).toEqual({ type: 'string' })
  })

  it('closes plain objects when asked (codecs whose parser rejects unknown keys itself)', () => {
    expect(jsonSchemaOf(t.intersection([t.type({ a: t.string }), t.partial({ b: t.number })]), { $schema: false, exactObjects: true }).additionalProperties).toBe(false)
  })
})

describe('the schema of hooks and trainer options agrees with their codecs', () => {
  const agree = (codec: t.Mixed, samples: readonly unknown[]) => {
    const schema = jsonSchemaOf(codec)
    expect(keywordsOutsideSubset(schema)).toEqual([])
    return samples.map((u) => ({ u, codec: E.isRight(codec.decode(u)), schema: schemaErrors(schema, u).length === 0 }))
  }

  it('hook entries: accepted and refused alike', () => {
    const results = agree(HookConfigCodec, [
      'tensorboard',
      'progressBar',
      'timer',
      'earlyStopping',
      'tensorbord',
      { checkpoint: { monitor: 'val/loss', saveTopK: 2, saveLast: true, dtype: 'float16' } },
      { checkpoint: { saveTopK: -2 } },
      { checkpoint: { saveTopk: 2 } },
      { checkpoint: null },
      { earlyStopping: null },
      { earlyStopping: { monitor: 'val/acc', mode: 'max', patience: 0, minDelta: 0.01 } },
      { earlyStopping: { monitor: '' } },
      { earlyStopping: { monitor: 'x', minDelta: -1 } },
      { timer: { maxTime: { hours: 1 } } },
      { timer: { maxTime: 1000, interval: 'step' } },
      { timer: { maxTime: { hour: 1 } } },
      { timer: { maxTime: 'an hour' } },
      { tensorboard: { hparams: { lr: 0.1, opt: 'adam', bn: true } } },
      { tensorboard: { hparams: { nested: { a: 1 } } } },
      { tensorboard: { hparams: true } },
      { progressBar: { refreshRate: 1.5 } },
      { printMetrics: { digits: 100 } },
      { printMetrics: { digits: 101 } },
      { modelSummary: { maxDepth: -1 } },
      { modelSummary: { maxDepth: 0 } },
      { lrMonitor: { loggingInterval: 'epoch', prefix: 'optim/' } },
      { lrMonitor: { loggingInterval: 'batch' } },
      { csvLogger: { hparams: { a: [1, 2] }, flushEvery: 1 } },
      { csvLogger: {}, jsonlLogger: {} },
      {},
      7,
    ])
    expect(results.filter((r) => r.codec !== r.schema)).toEqual([])
    expect(results.filter((r) => r.codec).length).toBeGreaterThan(10)
    expect(results.filter((r) => !r.codec).length).toBeGreaterThan(10)
  })

  it('trainer options: accepted and refused alike', () => {
    const results = agree(TrainerOptionsCodec, [
      { maxEpochs: 3, precision: 'bf16', accelerator: 'auto', seed: 0 },
      { precision: 16, fastDevRun: true, limitTrainBatches: 0.25, valCheckInterval: { fraction: 0.5 } },
      { checkValEveryNEpoch: null, gradientClipVal: 0.5, lossScaler: { initScale: 1024, growthInterval: 10 } },
      { maxEpochs: -2 },
      { precision: '64-true' },
      { precision: 'half' },
      { fastDevRun: -1 },
      { limitTrainBatches: 1.5 },
      { valCheckInterval: 0 },
      { gradientClipVal: -1 },
      { seed: 0.5 },
      { lossScaler: { backoffFactor: 1 } },
      { lossScaler: { initscale: 1 } },
      { strategy: 'dp' },
      { defaultRootDir: '' },
    ])
    expect(results.filter((r) => r.codec !== r.schema)).toEqual([])
  })
})
