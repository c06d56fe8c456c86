import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from '../../src/cli/command.js'
import { runEvaluation } from '../../src/cli/evaluateCommand.js'
import { runFit } from '../../src/cli/fitCommand.js'
import { commands, runCli } from '../../src/cli/main.js'
import { runPredict } from '../../src/cli/predictCommand.js'
import { runPrintConfig } from '../../src/cli/printConfigCommand.js'
import type { RunDeps } from '../../src/cli/runDeps.js'
import { liveEnv } from '../../src/effects/env.js'
import { importFile } from '../../src/effects/importFile.js'
import type { InterruptSignal, Signals } from '../../src/effects/signals.js'
import { manualSignals } from '../../src/effects/signals.js'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const fixtures = join(root, 'test', 'cli', 'fixtures')

/** Deps for in-process runs: live files and imports, signals that never fire (or `signals`). */
export const testDeps = (signals: Signals = manualSignals()): RunDeps => ({ env: { ...liveEnv, signals }, importFile })

/** Signals that interrupt the run at its n-th step (the loop asks `letIn` after each). */
export const interruptAtStep = (n: number, signal: InterruptSignal = 'SIGINT'): Signals => {
  const handlers = new Set<(s: InterruptSignal) => void>()
  let steps = 0
  return {
    onInterrupt: (h) => {
      handlers.add(h)
      return () => handlers.delete(h)
    },
    letIn: () => {
      if (++steps === n) for (const h of [...handlers]) h(signal)
      return undefined
    },
  }
}

/** The commands over the given deps (sweep and report as they are). */
const commandsWith = (deps: RunDeps): Command[] =>
  commands.map((c) => {
    switch (c.name) {
      case 'fit':
        return { ...c, run: runFit(deps) }
      case 'validate':
      case 'test':
        return { ...c, run: runEvaluation(c.name, deps) }
      case 'predict':
        return { ...c, run: runPredict(deps) }
      case 'print-config':
        return { ...c, run: runPrintConfig(deps) }
      default:
        return c
    }
  })

/** Runs `rxtrain <argv>` in this process with `cwd` as its working directory; its status and what it printed. */
export const rxtrain = async (argv: readonly string[], cwd: string, deps: RunDeps = testDeps()): Promise<{ status: number; out: string; err: string }> => {
  const out: string[] = []
  const err: string[] = []
  const status = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), cwd }, commandsWith(deps))
  return { status, out: out.join('\n'), err: err.join('\n') }
}

/** Writes a file (and its folder). */
export const write = (path: string, text: string): string => {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, text)
  return path
}

/** A config of the tiny classifier on generated points: 4 batches an epoch, on cpu. */
export const tinyConfig = (extra = ''): string =>
  [
    'name: tiny',
    `model: { module: ${join(fixtures, 'tinyModel.ts')}, export: classifier, args: { hidden: 8, lr: 0.05 } }`,
    `data: { module: ${join(fixtures, 'tinyData.ts')}, export: points4, args: { size: 128, batchSize: 32 } }`,
    'trainer: { maxEpochs: 3, accelerator: cpu, seed: 0, numSanityValSteps: 0, logEveryNSteps: 1 }',
    'hooks:',
    '  - checkpoint: { monitor: val/loss, saveTopK: 1, saveLast: true }',
    '  - csvLogger',
    'test: { ckptPath: best }',
    extra,
  ].join('\n')
