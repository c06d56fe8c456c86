import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { MonoTypeOperatorFunction, Observable } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { DEFAULT_HOOK_NAMES, HOOK_NAMES, type HookConfig, HookConfigCodec, type HookOptionsOf, hookOperators } from '../../src/config/hooksConfig.js'
import { bufferConsole } from '../../src/effects/console.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { earlyStopping } from '../../src/hooks/earlyStopping.js'
import { jsonlLogger } from '../../src/hooks/jsonlLogger.js'
import { lrMonitor } from '../../src/hooks/lrMonitor.js'
import { modelSummary } from '../../src/hooks/modelSummary.js'
import { printMetrics } from '../../src/hooks/printMetrics.js'
import { progressBar } from '../../src/hooks/progressBar.js'
import { tensorboard } from '../../src/hooks/tensorboard.js'
import { timer } from '../../src/hooks/timer.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fakeRun, feed } from '../support/events.js'

type Op = MonoTypeOperatorFunction<FitEvent>

/*
 * The type-level check that each hook's options codec decodes to something its factory takes:
 * this record does not compile when a codec drifts from the hook's options type (a field renamed,
 * a union widened). It is run once below so that it is not dead code.
 */
const takes: { readonly [K in keyof HookOptionsOf]: (options: HookOptionsOf[K]) => Op } = {
  checkpoint: (o) => checkpoint(o),
  earlyStopping: (o) => earlyStopping(o),
  csvLogger: (o) => csvLogger(o),
  jsonlLogger: (o) => jsonlLogger(o),
  tensorboard: (o) => tensorboard(o),
  progressBar: (o) => progressBar(o),
  printMetrics: (o) => printMetrics(o),
  modelSummary: (o) => modelSummary(o),
  lrMonitor: (o) => lrMonitor(o),
  timer: (o) => timer(o),
}

const decode = (u: unknown) => t.array(HookConfigCodec).decode(u)

/** Each error as `path: message` (array indexes and keys joined with dots, as io-ts gives them). */
const errorsOf = (u: unknown): string[] => {
  const r = decode(u)
  if (E.isRight(r)) return []
  return r.left.map((e) => `${e.context.map((c) => c.key).filter((k) => k !== '').join('.')}: ${e.message ?? `is required: ${e.context.at(-1)?.type.name}`}`)
}

describe('HookConfigCodec', () => {
  it('accepts bare names, one-key objects and YAML nulls (default options), in order', () => {
    const yaml = parse(`
- modelSummary
- progressBar
- checkpoint: { monitor: val/loss, saveTopK: 2, saveLast: true }
- earlyStopping: { monitor: val/loss, patience: 3 }
- tensorboard: { hparams: false }
- csvLogger:
- timer: { maxTime: { hours: 1, minutes: 30 } }
`)
    const r = decode(yaml)
    expect(E.isRight(r) && r.right).toEqual([
      'modelSummary',
      'progressBar',
      { checkpoint: { monitor: 'val/loss', saveTopK: 2, saveLast: true } },
      { earlyStopping: { monitor: 'val/loss', patience: 3 } },
      { tensorboard: { hparams: false } },
      { csvLogger: {} },
      { timer: { maxTime: { hours: 1, minutes: 30 } } },
    ])
  })

  it('covers every hook with plain-data options, and the type check covers every one', () => {
    expect([...HOOK_NAMES].sort()).toEqual(
      ['checkpoint', 'csvLogger', 'earlyStopping', 'jsonlLogger', 'lrMonitor', 'modelSummary', 'printMetrics', 'progressBar', 'tensorboard', 'timer'].sort(),
    )
    expect(Object.keys(takes).sort()).toEqual([...HOOK_NAMES].sort())
    expect(typeof takes.checkpoint({ monitor: 'val/loss' })).toBe('function')
    // hooks that need options cannot be named alone
    expect(DEFAULT_HOOK_NAMES).not.toContain('earlyStopping')
    expect(DEFAULT_HOOK_NAMES).not.toContain('timer')
  })

  it('reports every mistake at its path with the expected range, and did-you-mean for misspelt hooks and options', () => {
    expect(
      errorsOf([
        'tensorbord',
        { earlyStopping: { monitor: 'val/loss', patiense: 3, patience: -1 } },
        { checkpoint: { saveTopK: 1.5, mode: 'best' } },
        'timer',
        { progressBar: { refreshRate: 0 }, csvLogger: {} },
        { earlyStopping: { patience: 2 } },
        42,
      ]),
    ).toEqual([
      "0: names an unknown hook 'tensorbord'; did you mean 'tensorboard'?",
      "1.earlyStopping.patiense: is not a known option; did you mean 'patience'?",
      '1.earlyStopping.patience: must be an integer >= 0, got -1',
      '2.checkpoint.mode: has the wrong type: \'best\'; it must be one of \'min\', \'max\'',
      '2.checkpoint.saveTopK: must be an integer >= -1, got 1.5',
      "3: names the hook 'timer' without its required options; write it as { timer: { maxTime: { hours: 1 } } }",
      "4: must be a one-key object { name: options }, got keys 'progressBar', 'csvLogger'",
      '5.earlyStopping.monitor: is required: a logged metric name',
      expect.stringMatching(/^6: must be a hook name \(modelSummary, .*\) or a one-key object \{ name: options \}, got 42$/),
    ])
  })

  it('names an unknown hook key with did-you-mean, and ranges such as digits in [0, 100] and maxTime >= 0', () => {
    expect(errorsOf([{ earlyStoping: { monitor: 'x' } }, { printMetrics: { digits: 101 } }, { timer: { maxTime: -1 } }])).toEqual([
      "0.earlyStoping: is not a known hook; did you mean 'earlyStopping'?",
      '1.printMetrics.digits: must be an integer in [0, 100], got 101',
      '2.timer.maxTime: must be a number of milliseconds >= 0, got -1',
    ])
  })

  it('encodes to what it decoded, so a resolved config prints back as written', () => {
    const hooks: HookConfig[] = ['modelSummary', { checkpoint: { monitor: 'val/acc', mode: 'max' } }, { timer: { maxTime: 60_000, interval: 'epoch' } }]
    const r = decode(hooks)
    expect(E.isRight(r) && t.array(HookConfigCodec).encode(r.right)).toEqual(hooks)
    expect(HookConfigCodec.is('tensorboard')).toBe(true)
    expect(HookConfigCodec.is('timer')).toBe(false)
  })
})

describe('hookOperators', () => {
  const linesWith = async (hooks: readonly HookConfig[]) => {
    const run = fakeRun()
    const out = bufferConsole()
    const ops = hookOperators(hooks)
    await feed(run, (s: Observable<FitEvent>) => ops.reduce((acc, op) => acc.pipe(op), s), [() => run.fitStart({ maxEpochs: 1, numTrainBatches: 1, numValBatches: 0 }), () => run.fitEnd('maxEpochs', 0, 0)], { console: out })
    run.dispose()
    return out.lines
  }

  it('builds the operators in the order given, with their options', async () => {
    const summaryFirst = await linesWith(['modelSummary', { printMetrics: { digits: 2 } }])
    const printFirst = await linesWith([{ printMetrics: { digits: 2 } }, { modelSummary: { maxDepth: -1 } }])
    expect(summaryFirst[0]).not.toMatch(/^training on/)
    expect(printFirst[0]).toMatch(/^training on/)
    expect(hookOperators([])).toEqual([])
  })

  it("raises a hook's own cross-option error (saveTopK > 1 needs a monitor) when building it", () => {
    expect(() => hookOperators([{ checkpoint: { saveTopK: 3 } }])).toThrow(/needs a monitor/)
  })
})
