import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { bufferConsole } from '../../src/effects/console.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
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
import { trainedModel } from '../../src/hooks/trainedModel.js'
import { fixedProcessInfo } from '../../src/effects/processInfo.js'
import { manualSignals } from '../../src/effects/signals.js'
import { fit } from '../../src/pipeline/fit.js'
import { disposeTree, tensorsOf } from '../../src/tree/tree.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

describe('every hook at once', () => {
  it('leaves the tensor count unchanged (but for the returned model), also when interrupted and resumed', async () => {
    const fs = memoryFileSystem()
    const out = bufferConsole()
    const all = () =>
      [
        modelSummary(),
        lrMonitor(),
        checkpoint({ monitor: 'val/loss', saveTopK: 2, saveLast: true, everyNTrainSteps: 3 }),
        earlyStopping({ monitor: 'val/loss', patience: 20 }),
        timer({ maxTime: { hours: 1 } }),
        tensorboard(),
        csvLogger(),
        jsonlLogger(),
        progressBar(),
        printMetrics(),
      ] as const
    const options = { maxEpochs: 4, logEveryNSteps: 1, valCheckInterval: 2, defaultRootDir: '/run' }
    const before = tf.memory().numTensors
    const [a, b, c, d, e, f, g, h, i, j] = all()
    const signals = manualSignals()
    let steps = 0
    await lastValueFrom(
      fit(lineModule(), tinyData(5, 2), options, { backend, fs, signals, console: out, processInfo: fixedProcessInfo('host', 1) }).pipe(
        a, b, c, d, e, f, g, h, i, j,
        tap((ev) => {
          if (ev.type === 'trainStep' && ++steps === 7) signals.raise('SIGTERM')
        }),
      ),
    )
    expect(tf.memory().numTensors).toBe(before)
    const [a2, b2, c2, d2, e2, f2, g2, h2, i2, j2] = all()
    const model = await lastValueFrom(
      fit(lineModule(), tinyData(5, 2), { ...options, ckptPath: 'last' }, { backend, fs, signals: quiet, console: out, processInfo: fixedProcessInfo('host', 1) }).pipe(a2, b2, c2, d2, e2, f2, g2, h2, i2, j2, trainedModel()),
    )
    expect(tf.memory().numTensors).toBe(before + tensorsOf(model).length)
    disposeTree(model)
    expect(tf.memory().numTensors).toBe(before)
    // and they all wrote something
    const files = [...fs.files.keys()]
    expect(files.some((p) => p.startsWith('/run/events.out.tfevents.'))).toBe(true)
    expect(files).toEqual(expect.arrayContaining(['/run/metrics.csv', '/run/metrics.jsonl', '/run/hparams.yaml', '/run/checkpoints/last.json', '/run/checkpoints/best.json']))
    expect(out.lines.length).toBeGreaterThan(5)
  })
})
