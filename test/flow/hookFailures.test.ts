import * as tf from '@tensorflow/tfjs-core'
import { asyncScheduler, delay, filter, lastValueFrom, type MonoTypeOperatorFunction, observeOn } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { bufferConsole } from '../../src/effects/console.js'
import { replayEvents } from '../../src/flow/replayEvents.js'
import { earlyStopping } from '../../src/hooks/earlyStopping.js'
import { fakeRun } from '../support/events.js'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { hook } from '../../src/flow/hook.js'
import { afterAll, perform } from '../../src/flow/hookEffect.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

const failingAt = (kind: string, effect: 'throw' | 'reject' | 'reducer' | 'afterAll'): MonoTypeOperatorFunction<FitEvent> =>
  hook<null, FitEvent>({
    kind,
    on: ['trainStep'],
    init: () => null,
    step: (s, e) => {
      if (e.type !== 'trainStep' || e.globalStep !== 2) return [s]
      if (effect === 'reducer') throw new Error(`${effect} failed`)
      if (effect === 'afterAll') return [s, [afterAll(() => Promise.reject(new Error(`${effect} failed`)))]]
      return [s, [perform(effect === 'throw' ? () => { throw new Error(`${effect} failed`) } : () => Promise.reject(new Error(`${effect} failed`)))]]
    },
  })

describe("a hook's failure fails the run with its error, and leaks nothing", () => {
  for (const effect of ['throw', 'reject', 'reducer', 'afterAll'] as const)
    for (const [name, before] of [
      ['plain', (s: ReturnType<typeof fit>) => s],
      ['behind observeOn', observeOn(asyncScheduler)],
    ] as const)
      it(`${effect}, ${name}`, async () => {
        const tensors = tf.memory().numTensors
        const run = fit(lineModule(), tinyData(5, 1), { maxEpochs: 2 }, { backend, signals: quiet }).pipe(before as MonoTypeOperatorFunction<FitEvent>, failingAt('failing', effect))
        await expect(lastValueFrom(run)).rejects.toThrow(`${effect} failed`)
        expect(tf.memory().numTensors).toBe(tensors)
      })
})

describe('an event a hook acts on, dropped after an asynchronous operator', () => {
  it('leaves the run waiting, and the run says so on the console (never silently)', () => {
    const run = fakeRun()
    const console = bufferConsole()
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ flush }) => {
      const events = [() => run.fitStart(), () => run.epochEnd(0, 4, {}, { 'val/loss': 1 }), () => run.epochEnd(1, 8, {}, { 'val/loss': 2 })]
      const seen: string[] = []
      const subscription = replayEvents<FitEvent>(events, { env: { console } })
        .pipe(
          delay(1),
          filter((e) => !(e.type === 'epochEnd' && e.epoch === 1)),
          earlyStopping({ monitor: 'val/loss' }),
        )
        .subscribe((e) => seen.push(e.type))
      flush()
      expect(seen).toEqual(['fitStart', 'epochEnd'])
      expect(console.errors).toHaveLength(1)
      expect(console.errors[0]).toMatch(/waited 30 s for hook 'earlyStopping' to receive a 'epochEnd' event[\s\S]*drop events after the hooks/)
      subscription.unsubscribe()
    })
    run.dispose()
  })
})
