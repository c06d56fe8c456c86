import { asyncScheduler, concatMap, delay, filter, lastValueFrom, type MonoTypeOperatorFunction, observeOn, type OperatorFunction, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import type { Clock } from '../../src/effects/clock.js'
import { bufferConsole } from '../../src/effects/console.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { fixedProcessInfo } from '../../src/effects/processInfo.js'
import type { TerminalStream } from '../../src/effects/terminal.js'
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
import { fit } from '../../src/pipeline/fit.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData } from '../support/tiny.js'

/**
 * The acceptance matrix of the flow control: every built-in hook, with an asynchronous operator
 * (or a filter) placed before and after it, and early stopping after them, gives the same stop
 * step, the same files byte for byte and the same console and terminal output as the plain pipe.
 */

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

type Op = MonoTypeOperatorFunction<FitEvent>

const hooks: Record<string, () => Op> = {
  checkpoint: () => checkpoint({ monitor: 'val/loss', saveTopK: 2, saveLast: true, everyNTrainSteps: 4 }),
  earlyStopping: () => earlyStopping({ monitor: 'val/loss', patience: 3, minDelta: 0.02 }),
  csvLogger: () => csvLogger(),
  jsonlLogger: () => jsonlLogger(),
  tensorboard: () => tensorboard(),
  progressBar: () => progressBar(),
  lrMonitor: () => lrMonitor(),
  timer: () => timer({ maxTime: { seconds: 70 } }),
  modelSummary: () => modelSummary(),
  printMetrics: () => printMetrics(),
}

const operators: Record<string, () => Op> = {
  'observeOn(asyncScheduler)': () => observeOn(asyncScheduler),
  'concatMap into a promise': () => concatMap((e: FitEvent) => Promise.resolve(e)),
  'delay(0)': () => delay(0),
  // Drops an event none of these hooks acts on for its files or its decisions.
  filter: () => filter((e: FitEvent) => !(e.type === 'validationStep' && e.sanity)),
}

/** A clock that moves one second at every reading: time-based hooks see the same times in every pipe. */
const steppingClock = (): Clock => {
  let t = 1_700_000_000_000
  return { now: () => (t += 1000), monotonic: () => t }
}

const recordingTerminal = (): TerminalStream & { readonly text: () => string } => {
  const chunks: string[] = []
  return { isTTY: false, columns: 80, write: (c: string) => (chunks.push(c), true), text: () => chunks.join('') }
}

/** Trains with `[before, hook, after, earlyStopping, after]` and returns everything the run left. */
const outcome = async (hook: () => Op, around?: () => Op) => {
  const fs = memoryFileSystem()
  const console = bufferConsole()
  const terminal = recordingTerminal()
  const env = { backend, signals: quiet, fs, console, terminal, clock: steppingClock(), processInfo: fixedProcessInfo('host', 7) }
  const op = around ?? (() => (s: ReturnType<typeof fit>) => s)
  const events = await lastValueFrom(
    fit(lineModule(0.05), tinyData(6, 2), { maxEpochs: 12, valCheckInterval: 3, logEveryNSteps: 2, defaultRootDir: '/run', seed: 3 }, env).pipe(
      op(),
      hook(),
      op(),
      earlyStopping({ monitor: 'val/loss', patience: 2, minDelta: 0.05 }),
      op() as OperatorFunction<FitEvent, FitEvent>,
      toArray(),
    ),
  )
  const end = events.at(-1)
  const files = Object.fromEntries([...fs.files.entries()].map(([path, bytes]) => [path, Buffer.from(bytes).toString('base64')]))
  return {
    stop: end?.type === 'fitEnd' ? [end.reason, end.stopReason, end.epoch, end.globalStep] : undefined,
    files,
    console: console.lines,
    terminal: terminal.text(),
  }
}

describe('every hook gives the same results behind asynchronous operators and filters', () => {
  for (const [hookName, hook] of Object.entries(hooks)) {
    it(`${hookName}`, async () => {
      const plain = await outcome(hook)
      expect(plain.stop?.[0]).toBe('stopRequested')
      for (const [opName, op] of Object.entries(operators)) {
        const other = await outcome(hook, op)
        expect({ with: opName, ...other }).toEqual({ with: opName, ...plain })
      }
    })
  }
})
