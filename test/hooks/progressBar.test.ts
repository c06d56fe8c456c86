import * as tf from '@tensorflow/tfjs-core'
import { asyncScheduler, lastValueFrom, type MonoTypeOperatorFunction, type Observable, observeOn, take, tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { manualClock } from '../../src/effects/clock.js'
import { bufferConsole, type Console } from '../../src/effects/console.js'
import type { TerminalStream } from '../../src/effects/terminal.js'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { replayEvents } from '../../src/flow/replayEvents.js'
import { progressBar } from '../../src/hooks/progressBar.js'
import { fitLine } from '../../src/hooks/progressText.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit } from '../../src/pipeline/fit.js'
import { runSync } from '../support/run.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

/**
 * A fit of 2 epochs × 5 training batches (2 validation batches) whose clock moves only here:
 * +150 ms after each epochStart, +100 ms after each training batch, +1175 ms after each
 * (non-sanity) validation batch. So in each epoch batch i ends 150 + 100·i ms after the epoch
 * starts, and the end-of-epoch validation takes 2350 ms. The bar gets the run's `console` and
 * `terminal`; `before` goes between the clock and the bar.
 */
const timedRun = (
  hook: ReturnType<typeof progressBar>,
  env: { console: Console; terminal?: TerminalStream },
  extra: (e: FitEvent) => void = () => {},
  before: MonoTypeOperatorFunction<FitEvent> = (s) => s,
): Observable<FitEvent> => {
  const clock = manualClock(1_000_000)
  return fit(lineModule(), tinyData(5, 2), { maxEpochs: 2 }, { backend, clock, signals: quiet, ...env }).pipe(
    tap((e) => {
      if (e.type === 'epochStart') clock.advance(150)
      else if (e.type === 'trainStep') clock.advance(100)
      else if (e.type === 'validationStep' && !e.sanity) clock.advance(1175)
    }),
    before,
    hook,
    tap(extra),
  )
}

const fakeTerminal = (columns = 160) => {
  const chunks: string[] = []
  const stream: TerminalStream = {
    isTTY: true,
    columns,
    write: (s) => {
      chunks.push(s)
      return true
    },
  }
  return { stream, chunks, text: () => chunks.join('') }
}

const count = (text: string, part: string): number => text.split(part).length - 1

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/

describe('progressBar without a TTY: plain lines', () => {
  it('prints every N training batches with hand-computed rate and ETA, and each epoch end with its metrics', () => {
    const out = bufferConsole(false)
    const losses: number[] = []
    const valLoss: number[] = []
    const events = runSync(
      timedRun(progressBar({ everyNSteps: 2 }), { console: out }, (e) => {
        if (e.type === 'trainStep') losses.push(e.loss)
        if (e.type === 'validationEnd') valLoss.push(e.metrics['val/loss'] as number)
      }),
    )
    expect(events.at(-1)?.type).toBe('fitEnd')
    const l = (i: number) => (losses[i] as number).toFixed(4)
    const v = (i: number) => (valLoss[i] as number).toFixed(4)
    // batch 2: 2 batches in 250 ms = 8.0 it/s, 3 left → 0.375 s; batch 4: 4 in 450 ms = 8.89 it/s,
    // 1 left → 0.1125 s; epoch end: 5 in 550 ms = 9.09 it/s (the 2.35 s of validation excluded),
    // and the epoch took 650 + 2350 = 3000 ms.
    expect(out.lines).toEqual([
      `epoch 1/2 · 2/5 · 8.0 it/s · ETA 0.4s · loss ${l(1)}`,
      `epoch 1/2 · 4/5 · 8.9 it/s · ETA 0.1s · loss ${l(3)}`,
      `epoch 1/2 · 5/5 · 9.1 it/s · 3.0s · loss ${l(4)} · val/loss ${v(0)}`,
      `epoch 2/2 · 2/5 · 8.0 it/s · ETA 0.4s · loss ${l(6)}`,
      `epoch 2/2 · 4/5 · 8.9 it/s · ETA 0.1s · loss ${l(8)}`,
      `epoch 2/2 · 5/5 · 9.1 it/s · 3.0s · loss ${l(9)} · val/loss ${v(1)}`,
    ])
    expect(out.lines.some((line) => CONTROL.test(line))).toBe(false)
    expect(out.errors).toEqual([])
  })

  it('defaults to a line every 50 batches and still reports each epoch (also in fastDevRun)', () => {
    const out = bufferConsole(false)
    runSync(fit(lineModule(), tinyData(5, 2), { fastDevRun: true }, { backend, clock: manualClock(), signals: quiet, console: out }).pipe(progressBar()))
    expect(out.lines).toHaveLength(1)
    expect(out.lines[0]).toMatch(/^epoch 1\/1 · 1\/1 · \? it\/s · 0\.0s · loss \d+\.\d{4} · val\/loss \d+\.\d{4}$/)
  })

  it('a console that is a TTY with a stream that is not prints lines, not a bar', () => {
    const out = bufferConsole(true)
    const term = fakeTerminal()
    runSync(timedRun(progressBar({ everyNSteps: 2 }), { console: out, terminal: { ...term.stream, isTTY: false } }))
    expect(term.chunks).toEqual([])
    expect(out.lines).toHaveLength(6)
    expect(out.lines[0]).toMatch(/^epoch 1\/2 · 2\/5 · 8\.0 it\/s · ETA 0\.4s · loss \d\.\d{4}$/)
  })
})

/** Hand-made events (only the fields the bar reads), to control exactly what the bar is given. */
const event = (e: Record<string, unknown>): FitEvent => ({ epoch: 0, globalStep: 0, ...e }) as unknown as FitEvent
const step = (batchIdx: number, time: number, loss: number, metrics: Record<string, number> = {}, progBar: string[] = []): FitEvent =>
  event({ type: 'trainStep', batchIdx, time, loss, metrics, progBar })
/** Replays hand-made events through the bar as a run would, printing on `out`. */
const replay = (events: readonly FitEvent[], hook: ReturnType<typeof progressBar>, out: Console): FitEvent[] =>
  runSync(replayEvents(events, { env: { console: out } }).pipe(hook))

describe('progressBar metrics and unknown lengths (hand-made events)', () => {
  it('shows the progBar names of the step, and at epoch end the marked epoch and validation values', () => {
    const out = bufferConsole(false)
    const events = [
      event({ type: 'fitStart', time: 0, plan: { maxEpochs: 3 } }),
      event({ type: 'epochStart', time: 0, numBatches: 4, firstBatch: 0 }),
      step(0, 500, 1.5, { 'train/acc': 0.25, 'train/mae': 9 }, ['train/acc']),
      step(1, 1000, 1.25, { 'train/acc': 0.5, 'train/mae': 8 }, ['train/acc']),
      event({ type: 'validationStart', time: 1000, numBatches: 1 }),
      event({ type: 'validationEnd', time: 2000, metrics: { 'val/acc': 0.75, 'val/loss': 0.3 }, progBar: ['val/acc'] }),
      step(2, 2500, 1, { 'train/acc': 0.75 }, ['train/acc']),
      step(3, 3000, 0.5, { 'train/acc': 1 }, ['train/acc']),
      event({
        type: 'epochEnd',
        time: 3000,
        metrics: { 'train/acc_epoch': 0.625, 'train/mae': 7 },
        callbackMetrics: { 'train/acc_epoch': 0.625, 'train/mae': 7, 'val/acc': 0.75, 'val/loss': 0.3 },
        progBar: ['train/acc_epoch'],
      }),
    ]
    replay(events, progressBar({ everyNSteps: 2, digits: 2 }), out)
    // 2 batches in 1 s = 2.0 it/s, 2 left → 1 s; 4 batches in 3 s − 1 s of validation = 2.0 it/s.
    expect(out.lines).toEqual([
      'epoch 1/3 · 2/4 · 2.0 it/s · ETA 1.0s · loss 1.25 · train/acc 0.50',
      'epoch 1/3 · 4/4 · 2.0 it/s · 3.0s · loss 0.50 · train/acc 1.00 · train/acc_epoch 0.63 · val/acc 0.75',
    ])
  })

  it('without a maxEpochs or an epoch length it shows counts only, and slow steps in s/it', () => {
    const out = bufferConsole(false)
    const events = [
      event({ type: 'fitStart', time: 0, plan: { maxEpochs: Number.POSITIVE_INFINITY } }),
      event({ type: 'epochStart', time: 0, numBatches: Number.POSITIVE_INFINITY, firstBatch: 0 }),
      step(0, 2500, 2),
      step(1, 5000, 1),
      event({ type: 'epochEnd', time: 90_000, metrics: {}, callbackMetrics: { 'val/loss': 0.5 }, progBar: [] }),
    ]
    replay(events, progressBar({ everyNSteps: 2 }), out)
    // 2 batches in 5 s = 0.4 it/s → 2.50 s/it; the epoch took 90 s → 1:30.
    expect(out.lines).toEqual(['epoch 1 · 2 · 2.50 s/it · loss 1.0000', 'epoch 1 · 2 · 2.50 s/it · 1:30 · loss 1.0000 · val/loss 0.5000'])
  })

  it('counts a resumed epoch from its first batch', () => {
    const out = bufferConsole(false)
    const events = [
      event({ type: 'fitStart', time: 0, plan: { maxEpochs: 1 } }),
      event({ type: 'epochStart', time: 0, numBatches: 10, firstBatch: 6 }),
      step(6, 250, 1),
      step(7, 500, 1),
    ]
    replay(events, progressBar({ everyNSteps: 4 }), out)
    // 2 batches (7 and 8 of 10) in 0.5 s = 4.0 it/s; 2 left → 0.5 s.
    expect(out.lines).toEqual(['epoch 1/1 · 8/10 · 4.0 it/s · ETA 0.5s · loss 1.0000'])
  })
})

describe('progressBar on a TTY', () => {
  it('draws the epoch and batch count on the stream, prints no lines, and finishes every bar it starts', () => {
    const out = bufferConsole(true)
    const term = fakeTerminal()
    const before = tf.memory().numTensors
    runSync(timedRun(progressBar(), { console: out, terminal: term.stream }))
    expect(tf.memory().numTensors).toBe(before)
    const text = term.text()
    expect(out.lines).toEqual([])
    expect(text).toContain('sanity check')
    expect(text).toContain('epoch 1/2')
    expect(text).toMatch(/epoch 2\/2 █{25} 5\/5 · 9\.1 it\/s · 3\.0s · loss \d\.\d{4} · val\/loss \d\.\d{4}/)
    // cli-progress turns line wrapping off when a bar starts and back on when it stops:
    // three bars (sanity check, two epochs), all stopped.
    expect(count(text, '\u001b[?7l')).toBe(3)
    expect(count(text, '\u001b[?7h')).toBe(3)
  })

  it('stops the bar when the subscriber unsubscribes mid-epoch or the pipeline fails', () => {
    const term = fakeTerminal()
    runSync(timedRun(progressBar(), { console: bufferConsole(true), terminal: term.stream }).pipe(take(6)))
    expect(count(term.text(), '\u001b[?7l')).toBe(2)
    expect(count(term.text(), '\u001b[?7h')).toBe(2)
    expect(term.text()).toContain('epoch 1/2')

    const failing = fakeTerminal()
    const boom = new Error('boom')
    let failure: unknown
    timedRun(progressBar(), { console: bufferConsole(true), terminal: failing.stream }, (e) => {
      if (e.type === 'trainStep' && e.batchIdx === 2) throw boom
    }).subscribe({ error: (e: unknown) => (failure = e) })
    expect(failure).toBe(boom)
    expect(count(failing.text(), '\u001b[?7l')).toBe(2)
    expect(count(failing.text(), '\u001b[?7h')).toBe(2)
  })

  it('draws the same behind an asynchronous operator (observeOn), and prints the same lines without a TTY', async () => {
    const drawn = async (tty: boolean, before: MonoTypeOperatorFunction<FitEvent>) => {
      const out = bufferConsole(tty)
      const term = fakeTerminal()
      await lastValueFrom(timedRun(progressBar({ everyNSteps: 2 }), { console: out, terminal: term.stream }, () => {}, before))
      return { lines: out.lines, text: term.text() }
    }
    for (const tty of [true, false]) {
      const plain = await drawn(tty, (s) => s)
      expect(tty ? plain.text.includes('epoch 2/2') : plain.lines.some((l) => l.startsWith('epoch 2/2'))).toBe(true)
      expect(await drawn(tty, observeOn(asyncScheduler))).toEqual(plain)
    }
  })

  it('rejects a refresh rate below one batch', () => {
    let error: unknown
    try {
      progressBar({ refreshRate: 0 })
    } catch (e) {
      error = e
    }
    expect(isRxtrainError(error) && error.tag).toBe('ConfigError')
  })
})

describe('progressBar lines at the width of the terminal', () => {
  // An epoch's end as the README shows it: 430 batches, a rate, the time, the loss, two validation values.
  const parts = [
    { text: '126.8 it/s', drop: 1 },
    { text: '3.5s', drop: 2 },
    { text: 'loss 0.0696', drop: 4 },
    { text: 'val/acc 0.9784', drop: 6 },
    { text: 'val/loss 0.0798', drop: 6 },
  ]

  it('a wide terminal gets the whole line with a 25-block bar', () => {
    expect(fitLine('epoch 3/3', 430, 430, parts, 160)).toBe(`epoch 3/3 ${'█'.repeat(25)} 430/430 · 126.8 it/s · 3.5s · loss 0.0696 · val/acc 0.9784 · val/loss 0.0798`)
  })

  it('at 80 columns the validation values stay: the bar goes, then the rate', () => {
    const line = fitLine('epoch 3/3', 430, 430, parts, 80)
    expect(line).toBe('epoch 3/3 · 430/430 · 3.5s · loss 0.0696 · val/acc 0.9784 · val/loss 0.0798')
    expect(line.length).toBeLessThanOrEqual(80)
  })

  it('narrower still, the time and the loss go before any validation value; the bar takes the room left, up to 25 blocks', () => {
    expect(fitLine('epoch 3/3', 430, 430, parts, 60)).toBe('epoch 3/3 · 430/430 · val/acc 0.9784 · val/loss 0.0798')
    expect(fitLine('epoch 1/3', 200, 430, parts.slice(0, 3), 80)).toBe(`epoch 1/3 ${'█'.repeat(11)}${'░'.repeat(14)} 200/430 · 126.8 it/s · 3.5s · loss 0.0696`)
    // what cannot go is left whole (the terminal cuts it)
    expect(fitLine('epoch 3/3', 430, 430, [{ text: 'x'.repeat(90) }], 80)).toBe(`epoch 3/3 · 430/430 · ${'x'.repeat(90)}`)
  })

  it('an 80-column TTY draws no line wider than 80, and each epoch ends with its validation values', () => {
    const term = fakeTerminal(80)
    runSync(timedRun(progressBar(), { console: bufferConsole(true), terminal: term.stream }))
    const drawn = term.text().match(/epoch \d\/2[^\u001b\r\n]*/g) ?? []
    expect(drawn.length).toBeGreaterThan(1)
    expect(drawn.filter((l) => [...l].length > 80)).toEqual([])
    for (const epoch of [1, 2]) {
      const last = drawn.filter((l) => l.startsWith(`epoch ${epoch}/2`)).at(-1)
      expect(last).toMatch(new RegExp(`^epoch ${epoch}/2 █+ 5/5 · .* · val/loss \\d\\.\\d{4}$`))
    }
  })
})
