import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { nextLossScale, resolvePrecision } from '../../src/backends/precision.js'
import type { RxtrainError } from '../../src/errors/rxtrainError.js'
import { defaultOptions, parseTrainerOptions, type ResolvedOptions, suggestOption, type TrainerOptions, TrainerOptionsCodec } from '../../src/pipeline/options.js'
import { canStopEarly, isOptimizerStepBatch, isValidationEpoch, isValidationPoint, limitBatches, planFit } from '../../src/pipeline/plan.js'

const parsed = (input: unknown): ResolvedOptions => {
  const r = parseTrainerOptions(input)
  if (E.isLeft(r)) throw r.left
  return r.right
}

const rejected = (input: unknown): RxtrainError<'ConfigError'> => {
  const r = parseTrainerOptions(input)
  if (E.isRight(r)) throw new Error(`expected a ConfigError for ${JSON.stringify(input)}`)
  expect(r.left.tag).toBe('ConfigError')
  expect(r.left.remedy.length).toBeGreaterThan(0)
  return r.left
}

/** How a value is quoted in a message: strings in quotes, numbers as JavaScript prints them, the rest as JSON. */
const shown = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : typeof v === 'number' ? String(v) : JSON.stringify(v))

describe('parseTrainerOptions: defaults', () => {
  it('{} resolves to defaultOptions, and every default passes its own option’s rule', () => {
    expect(parsed({})).toEqual(defaultOptions)
    const written = Object.fromEntries(Object.entries(defaultOptions).filter(([, v]) => v !== undefined))
    expect(parsed(written)).toEqual(defaultOptions)
  })

  it('the defaults give Lightning’s default schedule', () => {
    // Trainer() on 10 training and 4 validation batches.
    const p = planFit(parsed({}), { trainBatches: 10, valBatches: 4, hasValidation: true })
    if (E.isLeft(p)) throw p.left
    const plan = p.right
    expect(plan.maxEpochs).toBe(1000) // max_epochs unset and max_steps -1: 1000 epochs
    expect(plan.maxSteps).toBe(Number.POSITIVE_INFINITY)
    expect(plan.estimatedSteppingBatches).toBe(10_000)
    expect(plan.numTrainBatches).toBe(10) // limit_train_batches 1.0: every batch
    expect(plan.numValBatches).toBe(4)
    expect(plan.numSanityBatches).toBe(2) // num_sanity_val_steps 2
    // val_check_interval 1.0 and check_val_every_n_epoch 1: once per epoch, after its last batch.
    expect([0, 1, 2, 3].every((e) => isValidationEpoch(plan, e))).toBe(true)
    const points = Array.from({ length: 10 }, (_, b) => isValidationPoint(plan, 0, b, b, b === 9))
    expect(points.map((v, b) => (v ? b : -1)).filter((b) => b >= 0)).toEqual([9])
    // accumulate_grad_batches 1: a step after every batch; min_epochs 0, min_steps unset: a stop is honoured at once.
    expect(Array.from({ length: 10 }, (_, b) => isOptimizerStepBatch(plan, b, b === 9)).every(Boolean)).toBe(true)
    expect(canStopEarly(plan, 0, 0)).toBe(true)
    expect(plan).toMatchObject({ logEveryNSteps: 50, noShuffle: false, fastDevRun: false, seed: 0 })
    // limit_test_batches / limit_predict_batches 1.0: every batch of those stages.
    expect(limitBatches(7, defaultOptions.limitTestBatches, 'limitTestBatches')).toEqual(E.right(7))
    expect(limitBatches(7, defaultOptions.limitPredictBatches, 'limitPredictBatches')).toEqual(E.right(7))
  })

  it('the defaults give float32 training, PyTorch GradScaler’s scaler, no clipping, one automatic device', () => {
    const o = parsed({})
    expect(resolvePrecision(o.precision)).toMatchObject({ name: '32-true', computeFormat: undefined, storageDtype: 'float32' })
    // GradScaler(init_scale=2**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000)
    expect(resolvePrecision('16-mixed', o.lossScaler).initScale()).toEqual({ scale: 2 ** 16, goodSteps: 0 })
    const next = nextLossScale(o.lossScaler)
    expect(next({ scale: 64, goodSteps: 1998 }, true)).toEqual({ scale: 64, goodSteps: 1999 })
    expect(next({ scale: 64, goodSteps: 1999 }, true)).toEqual({ scale: 128, goodSteps: 0 })
    expect(next({ scale: 64, goodSteps: 5 }, false)).toEqual({ scale: 32, goodSteps: 0 })
    expect(o.gradientClipVal).toBeUndefined()
    expect(o.gradientClipAlgorithm).toBe('norm') // Lightning clips by norm when only gradient_clip_val is given
    expect(o).toMatchObject({ accelerator: 'auto', strategy: 'auto', devices: 1, defaultRootDir: '.', ckptPath: undefined })
  })

  it('given options replace the defaults; undefined values keep them', () => {
    const o = parsed({ maxEpochs: 3, seed: 42, limitValBatches: 0.5, logEveryNSteps: undefined })
    expect(o).toEqual({ ...defaultOptions, maxEpochs: 3, seed: 42, limitValBatches: 0.5 })
  })

  it('aliases: fastDevRun true → 1 and false → 0, precision short names, a non-integer number as a fraction', () => {
    expect([true, false, 7].map((f) => parsed({ fastDevRun: f }).fastDevRun)).toEqual([1, 0, 7])
    expect([16, '16', 'bf16', 32].map((p) => parsed({ precision: p }).precision)).toEqual(['16-mixed', '16-mixed', 'bf16-mixed', '32-true'])
    // 0.5 is half the batches, 1 is one batch, { fraction: 1 } all of them.
    expect(limitBatches(10, parsed({ limitTrainBatches: 0.5 }).limitTrainBatches, 'limitTrainBatches')).toEqual(E.right(5))
    expect(limitBatches(10, parsed({ limitTrainBatches: 1 }).limitTrainBatches, 'limitTrainBatches')).toEqual(E.right(1))
    expect(limitBatches(10, parsed({ limitTrainBatches: { fraction: 1 } }).limitTrainBatches, 'limitTrainBatches')).toEqual(E.right(10))
    expect(parsed({ lossScaler: { growthInterval: 5 } }).lossScaler).toEqual({ ...defaultOptions.lossScaler, growthInterval: 5 })
  })

  it('is not an object → ConfigError', () => {
    for (const bad of [null, 3, 'maxEpochs=3', [1, 2]]) expect(rejected(bad).details).toMatchObject({ field: 'options' })
  })
})

describe('parseTrainerOptions: unknown options', () => {
  it.each([
    ['maxEpoch', 'maxEpochs'],
    ['valCheckIntervl', 'valCheckInterval'],
    ['max_epochs', 'maxEpochs'],
    ['MaxSteps', 'maxSteps'],
    ['limitTrainBatch', 'limitTrainBatches'],
    ['accumulate_grad_batches', 'accumulateGradBatches'],
  ])('%s → did you mean %s?', (typo, near) => {
    const e = rejected({ maxEpochs: 2, [typo]: 1 })
    expect(e.problem).toContain(`'${typo}'`)
    expect(e.remedy).toContain(`'${near}'`)
    expect(e.details).toMatchObject({ field: typo })
    expect(suggestOption(typo)).toBe(near)
  })

  it('a name near nothing lists the known options', () => {
    const e = rejected({ banana: 1 })
    expect(e.remedy).toContain('maxEpochs')
    expect(e.remedy).toContain('valCheckInterval')
    expect(suggestOption('banana')).toBeUndefined()
  })

  it('an unknown option is rejected even when its value is undefined', () => {
    rejected({ maxEpoch: undefined })
  })
})

interface Rule {
  /** What the rule says, as a message must word it. */
  readonly says: RegExp
  readonly accepts: readonly unknown[]
  /** Values of the right kind that break the rule. */
  readonly outOfRange: readonly unknown[]
  /** Values of the wrong kind altogether. */
  readonly wrongType: readonly unknown[]
}

const count = /batch count >= 0 or a fraction in \[0, 1\]/

/** Each option's rule, from Lightning's docs and LIGHTNING-SEMANTICS.md (not from the codec). */
const rules: { readonly [K in keyof TrainerOptions]-?: Rule } = {
  maxEpochs: { says: /an integer >= -1/, accepts: [-1, 0, 3], outOfRange: [-2, 2.5, Number.NaN, Number.POSITIVE_INFINITY], wrongType: ['3', true, null] },
  minEpochs: { says: /an integer >= 0/, accepts: [0, 4], outOfRange: [-1, 0.5], wrongType: ['1'] },
  maxSteps: { says: /an integer >= -1/, accepts: [-1, 0, 100], outOfRange: [-5, 1.5], wrongType: [null] },
  minSteps: { says: /an integer >= 0/, accepts: [0, 7], outOfRange: [-1, 1.5], wrongType: ['7'] },
  limitTrainBatches: { says: count, accepts: [0, 1, 100, 0.5, { fraction: 0 }, { fraction: 1 }], outOfRange: [-1, 1.5, Number.NaN, { fraction: 1.01 }, { fraction: -0.1 }], wrongType: ['all', { frac: 0.5 }] },
  limitValBatches: { says: count, accepts: [0, 3, 0.25, { fraction: 0.5 }], outOfRange: [-1, 2.5, { fraction: 2 }], wrongType: ['0.5'] },
  limitTestBatches: { says: count, accepts: [0, 2, { fraction: 1 }], outOfRange: [-3, { fraction: -0.5 }], wrongType: [[1]] },
  limitPredictBatches: { says: count, accepts: [5, 0.9], outOfRange: [-0.5, 7.5], wrongType: [false] },
  valCheckInterval: { says: /batch count >= 1 or a fraction/, accepts: [1, 50, 0.25, { fraction: 0 }, { fraction: 1 }], outOfRange: [0, -3, 1.5, { fraction: 1.5 }], wrongType: ['epoch'] },
  checkValEveryNEpoch: { says: /null or an integer >= 1/, accepts: [1, 3, null], outOfRange: [0, -1, 1.5], wrongType: ['2'] },
  numSanityValSteps: { says: /an integer >= -1/, accepts: [-1, 0, 2, 10], outOfRange: [-2, 0.5], wrongType: ['all'] },
  accumulateGradBatches: { says: /an integer >= 1/, accepts: [1, 4], outOfRange: [0, -1, 1.5], wrongType: [{ 0: 8 }] },
  gradientClipVal: { says: /a finite number >= 0/, accepts: [0, 0.5, 10], outOfRange: [-1, Number.POSITIVE_INFINITY, Number.NaN], wrongType: ['1'] },
  gradientClipAlgorithm: { says: /'norm', 'value'/, accepts: ['norm', 'value'], outOfRange: [], wrongType: ['l2', 'Norm', 1] },
  logGradNorm: { says: /'off', 'global', 'per-group', 'per-parameter'/, accepts: ['off', 'global', 'per-group', 'per-parameter'], outOfRange: [], wrongType: ['on', true, 2] },
  fastDevRun: { says: /true, false or an integer >= 0/, accepts: [true, false, 0, 1, 7], outOfRange: [-1, 0.5], wrongType: ['yes'] },
  overfitBatches: { says: count, accepts: [0, 3, 0.1, { fraction: 0.5 }], outOfRange: [2.5, -1, { fraction: 1.2 }], wrongType: ['some'] },
  seed: { says: /a safe integer/, accepts: [0, -7, 2 ** 53 - 1], outOfRange: [1.5, 2 ** 60], wrongType: [null, '42'] },
  logEveryNSteps: { says: /an integer >= 1/, accepts: [1, 50], outOfRange: [0, 2.5], wrongType: ['50'] },
  accelerator: { says: /'auto', 'cpu'/, accepts: ['auto', 'cpu', 'wasm'], outOfRange: [], wrongType: ['tpu', 'cuda'] },
  precision: { says: /'32-true', '16-mixed', 'bf16-mixed', '16-true', 'bf16-true'/, accepts: ['32-true', '16-mixed', 'bf16-mixed', '16-true', 'bf16-true', 16, '16', 'bf16', 32, '32'], outOfRange: [], wrongType: ['fp16', 8] },
  lossScaler: {
    says: /initScale|growthFactor|backoffFactor|growthInterval/,
    accepts: [{}, { initScale: 1024 }, { growthFactor: 1, backoffFactor: 0.25, growthInterval: 1 }],
    outOfRange: [{ initScale: 0 }, { growthFactor: 0.5 }, { backoffFactor: 2 }, { growthInterval: 1.5 }, { initscale: 2 }],
    wrongType: [{ initScale: 'big' }, 'dynamic'],
  },
  strategy: { says: /'auto', 'single', 'ddp'/, accepts: ['auto', 'single', 'ddp'], outOfRange: [], wrongType: ['dp', 'fsdp'] },
  devices: { says: /an integer >= 1/, accepts: [1, 4], outOfRange: [0, 1.5], wrongType: ['2'] },
  defaultRootDir: { says: /a non-empty path/, accepts: ['.', 'runs/x'], outOfRange: [''], wrongType: [3] },
  ckptPath: { says: /'last' or 'best'/, accepts: ['last', 'best', 'runs/x/checkpoints/last'], outOfRange: [''], wrongType: [42] },
}

const cases = (pick: (r: Rule) => readonly unknown[]) =>
  (Object.entries(rules) as [string, Rule][]).flatMap(([field, r]) => pick(r).map((value) => [field, shown(value), value, r.says] as const))

describe('parseTrainerOptions: each option’s rule', () => {
  it('the table covers every option of the codec', () => {
    expect(Object.keys(rules).sort()).toEqual(Object.keys(TrainerOptionsCodec.props).sort())
  })

  it.each(cases((r) => r.accepts))('%s = %s is accepted', (field, _, value) => {
    expect(Object.keys(parsed({ [field]: value }))).toContain(field)
  })

  it.each(cases((r) => r.outOfRange))('%s = %s breaks the rule: the message names the field, the value and the rule', (field, text, value, says) => {
    const e = rejected({ [field]: value })
    expect(e.details).toMatchObject({ field })
    expect(e.problem).toContain(`${field} must be `)
    expect(e.problem).toContain(`got ${text}`)
    expect(e.problem).toMatch(says)
  })

  it.each(cases((r) => r.wrongType))('%s = %s has the wrong type: the message names the field, the value and the rule', (field, text, value, says) => {
    const e = rejected({ [field]: value })
    expect(e.details).toMatchObject({ field })
    expect(e.problem).toContain(`${field} has the wrong type: ${text}`)
    expect(e.problem).toMatch(says)
  })

  it('worded like a sentence, with a remedy', () => {
    const e = rejected({ maxEpochs: 2.5 })
    expect(e.problem).toBe('maxEpochs must be an integer >= -1, got 2.5')
    expect(e.remedy).toBe('set maxEpochs to an integer >= -1.')
    expect(rejected({ valCheckInterval: 0 }).problem).toContain('limitValBatches: 0')
    expect(rejected({ precision: '64-true' }).problem).toContain('no float64 dtype')
  })

  it('reports every bad option of an input at once', () => {
    const e = rejected({ maxEpochs: 2.5, sed: 1, accelerator: 'tpu', seed: 3 })
    expect(e.details).toMatchObject({ field: 'sed', fields: ['sed', 'maxEpochs', 'accelerator'] })
    expect(e.problem).toMatch(/^3 trainer options are wrong: /)
    expect(e.problem).toContain("unknown option 'sed'")
    expect(e.problem).toContain('maxEpochs must be an integer >= -1, got 2.5')
    expect(e.problem).toContain("accelerator has the wrong type: 'tpu'")
    expect(e.remedy).toContain("did you mean 'seed'?")
  })
})
