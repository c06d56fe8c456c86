import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { type InterruptSignal, latchedSignals, manualSignals, processSignals } from '../../src/effects/signals.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

describe('latchedSignals', () => {
  it('remembers a signal that came before anyone listened, and tells a later listener at once', () => {
    const base = manualSignals()
    const signals = latchedSignals(base)
    expect(signals.received()).toBeUndefined()
    base.raise('SIGTERM')
    expect(signals.received()).toBe('SIGTERM')
    const seen: InterruptSignal[] = []
    const off = signals.onInterrupt((s) => seen.push(s))
    expect(seen).toEqual(['SIGTERM'])
    // later signals reach it too, until it unsubscribes; the first stays the one received
    base.raise('SIGINT')
    off()
    base.raise('SIGINT')
    expect(seen).toEqual(['SIGTERM', 'SIGINT'])
    expect(signals.received()).toBe('SIGTERM')
  })

  it('stops listening to its base on close', () => {
    const base = manualSignals()
    const signals = latchedSignals(base)
    signals.close()
    base.raise('SIGINT')
    expect(signals.received()).toBeUndefined()
  })

  it("over the process's signals, it listens from the moment it is made until closed", () => {
    const before = process.listenerCount('SIGTERM')
    const signals = latchedSignals(processSignals)
    expect(process.listenerCount('SIGTERM')).toBe(before + 1)
    expect(signals.letIn).toBeDefined()
    signals.close()
    expect(process.listenerCount('SIGTERM')).toBe(before)
  })

  it('a run handed signals that already fired stops before its first step, releases everything, and its checkpoint resumes', async () => {
    const base = manualSignals()
    const signals = latchedSignals(base)
    // SIGTERM while the program was still starting up (loading data, say)
    base.raise('SIGTERM')
    const fs = memoryFileSystem()
    const tensors = tf.memory().numTensors
    const options = { maxEpochs: 3, defaultRootDir: '/run' }
    const events = await lastValueFrom(fit(lineModule(), tinyData(5, 2), options, { backend, signals, fs }).pipe(checkpoint({ saveLast: true }), toArray()))
    signals.close()
    expect(events.filter((e) => e.type === 'trainStep')).toEqual([])
    const end = events.at(-1)
    expect(end?.type === 'fitEnd' && [end.reason, end.stopReason, end.globalStep]).toEqual(['interrupted', 'SIGTERM', 0])
    expect(tf.memory().numTensors).toBe(tensors)
    const resumed = await lastValueFrom(fit(lineModule(), tinyData(5, 2), { ...options, ckptPath: 'last' }, { backend, signals: quiet, fs }).pipe(checkpoint({ saveLast: true })))
    expect(resumed.type === 'fitEnd' && [resumed.reason, resumed.globalStep]).toEqual(['maxEpochs', 15])
    expect(tf.memory().numTensors).toBe(tensors)
  })
})

describe('fit listens from subscription', () => {
  it('a SIGTERM while the backend is still starting stops the run before its first step', async () => {
    const base = manualSignals()
    const fs = memoryFileSystem()
    const events: FitEvent[] = []
    const done = new Promise<void>((resolve, reject) => {
      fit(lineModule(), tinyData(5, 2), { maxEpochs: 3, defaultRootDir: '/run', accelerator: 'cpu' }, { signals: base, fs })
        .pipe(checkpoint({ saveLast: true }))
        .subscribe({ next: (e) => events.push(e), error: reject, complete: resolve })
    })
    base.raise('SIGTERM') // subscribed; the backend starts asynchronously, so it is not there yet
    await done
    expect(events.filter((e) => e.type === 'trainStep')).toEqual([])
    const end = events.at(-1)
    expect(end?.type === 'fitEnd' && [end.reason, end.stopReason, end.globalStep]).toEqual(['interrupted', 'SIGTERM', 0])
  })
})
