import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import * as TE from 'fp-ts/lib/TaskEither.js'
import protobuf from 'protobufjs'
import * as E from 'fp-ts/lib/Either.js'
import { asyncScheduler, concatMap, delay, lastValueFrom, type MonoTypeOperatorFunction, type Observable, observeOn, of, takeWhile, tap, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { encodeCheckpoint, writeCheckpoint } from '../../src/checkpoint/writeCheckpoint.js'
import type { Clock } from '../../src/effects/clock.js'
import { fileError } from '../../src/effects/fileSystem.js'
import { type MemoryFileSystem, memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { fixedProcessInfo } from '../../src/effects/processInfo.js'
import { manualSignals } from '../../src/effects/signals.js'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { hook } from '../../src/flow/hook.js'
import { perform } from '../../src/flow/hookEffect.js'
import { eventFileName, tensorboard } from '../../src/hooks/tensorboard.js'
import { scalarsEvent } from '../../src/hooks/tensorboard/eventProto.js'
import { hparamsOf } from '../../src/hooks/tensorboard/hparams.js'
import { crc32c, maskedCrc32c, tfRecord } from '../../src/hooks/tensorboard/tfrecord.js'
import { sgd } from '../../src/optim/aliases.js'
import type { FitEvent } from '../../src/pipeline/events.js'
import { fit, type RunEnv } from '../../src/pipeline/fit.js'
import { log } from '../../src/pipeline/logs.js'
import { defineModule } from '../../src/pipeline/module.js'
import { defaultOptions, type TrainerOptions } from '../../src/pipeline/options.js'
import { quiet, useBackend } from '../support/backend.js'
import { tinyData, type XY } from '../support/tiny.js'

let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})

// ---- An independent reader: CRC-32C by its definition, TFRecord framing, and the protos ----

/** CRC-32C bit by bit: reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF. */
const referenceCrc32c = (bytes: Uint8Array): number => {
  let c = 0xffffffff
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return (c ^ 0xffffffff) >>> 0
}
/** TensorFlow's `crc32c::Mask`: rotate right 15, add 0xa282ead8, modulo 2^32. */
const referenceMask = (crc: number): number => (((crc >>> 15) | (crc << 17)) + 0xa282ead8) % 2 ** 32
const refMasked = (bytes: Uint8Array): number => (referenceMask(referenceCrc32c(bytes)) >>> 0)

/** Splits TFRecord bytes into records, checking both CRCs of each. */
const readRecords = (bytes: Uint8Array): Uint8Array[] => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: Uint8Array[] = []
  let at = 0
  while (at < bytes.length) {
    if (at + 12 > bytes.length) throw new Error(`truncated header at ${at}`)
    const length = Number(view.getBigUint64(at, true))
    if (view.getUint32(at + 8, true) !== refMasked(bytes.subarray(at, at + 8))) throw new Error(`bad length crc at ${at}`)
    if (at + 16 + length > bytes.length) throw new Error(`truncated record at ${at}`)
    const data = bytes.subarray(at + 12, at + 12 + length)
    if (view.getUint32(at + 12 + length, true) !== refMasked(data)) throw new Error(`bad data crc at ${at}`)
    out.push(data)
    at += 16 + length
  }
  return out
}

// Declared here from the upstream field numbers (tensorboard/compat/proto/event.proto, summary.proto,
// tensor.proto, tensor_shape.proto; plugins/hparams/plugin_data.proto; google/protobuf/struct.proto),
// independently of src, so a wrong number there is caught.
const schema = protobuf.Root.fromJSON(<protobuf.INamespace>{
  nested: {
    tb: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ['file_version', 'summary', 'session_log'] } },
          fields: {
            wall_time: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            file_version: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
            session_log: { type: 'SessionLog', id: 7 },
          },
        },
        SessionLog: { fields: { status: { type: 'int32', id: 1 }, checkpoint_path: { type: 'string', id: 2 }, msg: { type: 'string', id: 3 } } },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Value: {
              oneofs: { value: { oneof: ['simple_value', 'tensor'] } },
              fields: { tag: { type: 'string', id: 1 }, simple_value: { type: 'float', id: 2 }, tensor: { type: 'TensorProto', id: 8 }, metadata: { type: 'SummaryMetadata', id: 9 } },
            },
          },
        },
        SummaryMetadata: {
          fields: { plugin_data: { type: 'PluginData', id: 1 } },
          nested: { PluginData: { fields: { plugin_name: { type: 'string', id: 1 }, content: { type: 'bytes', id: 2 } } } },
        },
        TensorProto: { fields: { dtype: { type: 'int32', id: 1 }, tensor_shape: { type: 'Shape', id: 2 } } },
        Shape: { fields: { dim: { rule: 'repeated', type: 'Dim', id: 2 } } },
        Dim: { fields: { size: { type: 'int64', id: 1 } } },
        HParamsPluginData: {
          oneofs: { data: { oneof: ['session_start_info'] } },
          fields: { version: { type: 'int32', id: 1 }, session_start_info: { type: 'SessionStartInfo', id: 3 } },
        },
        SessionStartInfo: {
          fields: { hparams: { keyType: 'string', type: 'PbValue', id: 1 }, group_name: { type: 'string', id: 4 }, start_time_secs: { type: 'double', id: 5 } },
        },
        PbValue: {
          oneofs: { kind: { oneof: ['null_value', 'number_value', 'string_value', 'bool_value'] } },
          fields: { null_value: { type: 'int32', id: 1 }, number_value: { type: 'double', id: 2 }, string_value: { type: 'string', id: 3 }, bool_value: { type: 'bool', id: 4 } },
        },
      },
    },
  },
})
const decodeAs = (type: string, bytes: Uint8Array) => {
  const T = schema.lookupType(`tb.${type}`)
  // decoded messages are plain data, checked field by field below
  return T.toObject(T.decode(bytes), { longs: Number, oneofs: true, defaults: true }) as any
}
interface Decoded {
  wall_time: number
  step: number
  what?: string
  file_version: string
  summary?: { value: { tag: string; value?: string; simple_value: number; metadata?: any; tensor?: any }[] }
}
const decodeFile = (bytes: Uint8Array | undefined): Decoded[] => {
  if (bytes === undefined) throw new Error('no event file')
  return readRecords(bytes).map((r) => decodeAs('Event', r) as Decoded)
}

// ---- Runs ----

/** A clock that moves one second on every reading, so every event has its own wall time. */
const tickingClock = (start = 1_700_000_000_000): Clock => {
  let t = start
  return { now: () => (t += 1000), monotonic: () => t }
}

/** y = 2x + 1 with a step-level loss, an epoch-level error and a validation loss. */
const module = defineModule({
  init: () => ({ params: { w: tf.zeros([1, 1]), b: tf.zeros([1]) }, state: {} }),
  trainingStep: (model, batch: XY) => {
    const err = tf.sub(tf.add(tf.matMul(batch.x, model.params.w), model.params.b), batch.y)
    const loss = tf.mean(tf.square(err)) as tf.Scalar
    return { loss, logs: { 'train/loss': loss, 'train/mae': log(tf.mean(tf.abs(err)), { onStep: false, onEpoch: true }) } }
  },
  validationStep: (model, batch: XY) => ({
    'val/loss': tf.mean(tf.squaredDifference(tf.add(tf.matMul(batch.x, model.params.w), model.params.b), batch.y)),
  }),
  optimizer: sgd({ lr: 0.1 }),
})

const host = fixedProcessInfo('testhost', 4242)

const runTo = (fs: MemoryFileSystem, options: TrainerOptions, hook: MonoTypeOperatorFunction<FitEvent> = tensorboard(), extra: Partial<RunEnv> = {}, trainBatches = 5) => {
  const seen: FitEvent[] = []
  const run: Observable<FitEvent> = fit(module, tinyData(trainBatches, 2), options, { backend, fs, clock: tickingClock(), signals: manualSignals(), processInfo: host, ...extra }).pipe(
    tap((e) => seen.push(e)),
    hook,
  )
  return { seen, done: lastValueFrom(run.pipe(toArray())) }
}

/** The rows a logger should have written, from the events of the run. */
const expectedRows = (events: readonly FitEvent[]) =>
  events.flatMap((e) => {
    const row =
      e.type === 'trainStep' ? (e.shouldLog ? e : undefined) : e.type === 'validationEnd' || e.type === 'epochEnd' ? e : undefined
    if (row === undefined || Object.keys(row.metrics).length === 0) return []
    return [{ wall_time: e.time / 1000, step: row.logStep, values: Object.entries(row.metrics).map(([tag, v]) => ({ tag, value: Math.fround(v) })) }]
  })
const scalarRows = (decoded: readonly Decoded[]) =>
  decoded
    .filter((d) => d.what === 'summary' && d.summary?.value.every((v) => v.value === 'simple_value'))
    .map((d) => ({ wall_time: d.wall_time, step: d.step, values: (d.summary?.value ?? []).map((v) => ({ tag: v.tag, value: v.simple_value })) }))

const onlyFile = (fs: MemoryFileSystem, dir: string): [string, Uint8Array] => {
  const files = [...fs.files].filter(([p]) => p.startsWith(`${dir}/`))
  expect(files).toHaveLength(1)
  return files[0] as [string, Uint8Array]
}

describe('masked CRC-32C and TFRecord framing', () => {
  it('the reference CRC-32C gives the standard answers, and so does the package', () => {
    const ascii = (s: string) => new TextEncoder().encode(s)
    const cases: [Uint8Array, number][] = [
      [ascii('123456789'), 0xe3069283], // the CRC-32C check value
      [new Uint8Array(32), 0x8a9136aa], // RFC 3720 B.4 (and TensorFlow's crc32c_test)
      [new Uint8Array(32).fill(0xff), 0x62a8ab43],
      [Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ]
    for (const [bytes, crc] of cases) {
      expect(referenceCrc32c(bytes)).toBe(crc)
      expect(crc32c(bytes)).toBe(crc)
    }
  })

  it('masks as TensorFlow does: the empty string and "abc"', () => {
    expect(maskedCrc32c(new Uint8Array())).toBe(0xa282ead8) // crc 0 masks to the delta
    const abc = new TextEncoder().encode('abc')
    expect(referenceCrc32c(abc)).toBe(0x364b3fb7)
    expect(maskedCrc32c(abc)).toBe(refMasked(abc))
    expect(maskedCrc32c(abc)).not.toBe(crc32c(abc))
    for (let n = 0; n < 64; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n * 11) & 0xff)
      expect(maskedCrc32c(bytes)).toBe(refMasked(bytes))
    }
  })

  it('frames records that read back, and a flipped byte is caught', () => {
    const payloads = [new Uint8Array(), new TextEncoder().encode('abc'), Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)]
    const bytes = new Uint8Array(payloads.reduce((n, p) => n + p.length + 16, 0))
    let at = 0
    for (const p of payloads) {
      const r = tfRecord(p)
      expect(r.length).toBe(p.length + 16)
      expect(new DataView(r.buffer).getUint32(0, true)).toBe(p.length) // uint64 little-endian: low word first
      expect(new DataView(r.buffer).getUint32(4, true)).toBe(0)
      bytes.set(r, at)
      at += r.length
    }
    expect(readRecords(bytes)).toEqual(payloads)
    for (const i of [0, 9, 13, 30]) {
      const bad = bytes.slice()
      bad[i] = (bad[i] as number) ^ 1
      expect(() => readRecords(bad)).toThrow(/crc/)
    }
  })

  it('writes scalars as float simple_values, zero and non-finite included', () => {
    const d = decodeAs('Event', scalarsEvent(12.5, 7, { zero: 0, nan: Number.NaN, inf: -Infinity, third: 1 / 3 })) as Decoded
    expect(d.wall_time).toBe(12.5)
    expect(d.step).toBe(7)
    expect(d.summary?.value.map((v) => [v.tag, v.value])).toEqual([
      ['zero', 'simple_value'],
      ['nan', 'simple_value'],
      ['inf', 'simple_value'],
      ['third', 'simple_value'],
    ])
    expect(d.summary?.value.map((v) => v.simple_value)).toEqual([0, Number.NaN, -Infinity, Math.fround(1 / 3)])
  })
})

describe('tensorboard', () => {
  it('writes a TensorBoard event file: the version, the hyperparameters, then every logged scalar in order', async () => {
    const fs = memoryFileSystem()
    const { seen, done } = runTo(fs, { maxEpochs: 2, logEveryNSteps: 1, valCheckInterval: 3, defaultRootDir: 'runs/a' }, undefined, {}, 6)
    await done
    const fitStart = seen[0]
    if (fitStart?.type !== 'fitStart') throw new Error('no fitStart')
    const [path, bytes] = onlyFile(fs, 'runs/a')
    expect(path).toBe(`runs/a/events.out.tfevents.${Math.floor(fitStart.time / 1000)}.testhost.4242.0`)

    const decoded = decodeFile(bytes)
    expect(decoded[0]).toMatchObject({ what: 'file_version', file_version: 'brain.Event:2', wall_time: fitStart.time / 1000 })
    expect(decoded[1]?.summary?.value[0]?.tag).toBe('_hparams_/session_start_info')

    const expected = expectedRows(seen)
    expect(scalarRows(decoded)).toEqual(expected)
    expect(decoded).toHaveLength(2 + expected.length)
    // not vacuous: step rows, mid-epoch and end-of-epoch validations and epoch rows are all there
    const tags = new Set(expected.flatMap((r) => r.values.map((v) => v.tag)))
    expect([...tags].sort()).toEqual(['train/loss', 'train/mae', 'val/loss'])
    expect(expected.filter((r) => r.values.some((v) => v.tag === 'train/loss'))).toHaveLength(12)
    expect(expected.filter((r) => r.values.some((v) => v.tag === 'val/loss')).length).toBeGreaterThanOrEqual(4)
    expect(expected.filter((r) => r.values.some((v) => v.tag === 'train/mae'))).toHaveLength(2)
    expect(new Set(expected.map((r) => r.step)).size).toBeGreaterThan(5)
  })

  it('writes at every epoch end and every flushEvery records, and the loop waits for the disk', async () => {
    const fs = memoryFileSystem()
    const dir = 'runs/flush'
    const flushEvery = 3
    const checks: { onDisk: number; epochEnds: number; logged: number }[] = []
    let logged = 0
    let throughEpochEnd = 0
    const count = tap((e: FitEvent) => {
      const file = [...fs.files].find(([p]) => p.startsWith(`${dir}/`))?.[1]
      // What this event's own write adds may not be there yet: compare with the events before it.
      checks.push({ onDisk: file === undefined ? 0 : readRecords(file).length, epochEnds: throughEpochEnd, logged })
      const rows = expectedRows([e]).length
      logged += rows + (e.type === 'fitStart' ? 2 : 0)
      if (e.type === 'epochEnd') throughEpochEnd = logged
    })
    const hook = (source: Observable<FitEvent>) => source.pipe(tensorboard({ flushEvery }), count)
    const { seen, done } = runTo(fs, { maxEpochs: 3, logEveryNSteps: 1, defaultRootDir: dir }, hook)
    await done
    expect(checks.length).toBe(seen.length)
    for (const c of checks.slice(1)) {
      expect(c.onDisk).toBeGreaterThanOrEqual(c.epochEnds)
      expect(c.logged - c.onDisk).toBeLessThan(flushEvery)
    }
    expect(checks.some((c) => c.onDisk < c.logged)).toBe(true) // it does buffer
    expect(readRecords(onlyFile(fs, dir)[1])).toHaveLength(logged)
  })

  it('writes the same file behind asynchronous operators (observeOn, concatMap into delay) before and after it', async () => {
    const filesOf = async (around: MonoTypeOperatorFunction<FitEvent>[] = []) => {
      const fs = memoryFileSystem()
      const op = (s: Observable<FitEvent>) => around.reduce((acc, o) => acc.pipe(o), s)
      await runTo(fs, { maxEpochs: 3, logEveryNSteps: 1, defaultRootDir: 'runs/async' }, (s) => s.pipe(op, tensorboard({ flushEvery: 2 }), op)).done
      return fs.files
    }
    const plain = await filesOf()
    expect(plain.size).toBe(1)
    expect(decodeFile([...plain.values()][0]).length).toBeGreaterThan(10)
    expect(await filesOf([observeOn(asyncScheduler)])).toEqual(plain)
    expect(await filesOf([concatMap((e) => of(e).pipe(delay(0)))])).toEqual(plain)
  })

  it('writes the hyperparameters for the HParams plugin: trainer options, flattened, plus the user’s', async () => {
    const fs = memoryFileSystem()
    const hook = tensorboard({ dir: 'tb', hparams: { hidden: 8, act: 'relu', batchNorm: true, seed: 9 } })
    const { seen, done } = runTo(fs, { maxEpochs: 1, limitTrainBatches: 0.5, defaultRootDir: 'root' }, hook)
    await done
    const event = decodeFile(onlyFile(fs, 'tb')[1])[1]
    const value = event?.summary?.value[0]
    expect(event?.step).toBe(0)
    expect(value?.tag).toBe('_hparams_/session_start_info')
    expect(value?.metadata?.plugin_data?.plugin_name).toBe('hparams')
    // the null tensor that metadata-only plugin summaries carry: DT_FLOAT, shape [0]
    expect(value?.value).toBe('tensor')
    expect(value?.tensor).toEqual({ dtype: 1, tensor_shape: { dim: [{ size: 0 }] } })
    const data = decodeAs('HParamsPluginData', value?.metadata?.plugin_data?.content)
    expect(data.version).toBe(0)
    expect(data.data).toBe('session_start_info')
    const info = data.session_start_info
    expect(info.start_time_secs).toBe((seen[0] as FitEvent).time / 1000)
    const hp = Object.fromEntries(Object.entries(info.hparams as Record<string, Record<string, unknown>>).map(([k, v]) => [k, v[v.kind as string]]))
    expect(hp).toMatchObject({ hidden: 8, act: 'relu', batchNorm: true, seed: 9, maxEpochs: 1, logEveryNSteps: 50, precision: '32-true', limitTrainBatches: 0.5, 'limitValBatches.fraction': 1, numSanityValSteps: 2 })
    expect(info.hparams.batchNorm.kind).toBe('bool_value')
    expect(info.hparams.act.kind).toBe('string_value')
    expect(info.hparams.hidden.kind).toBe('number_value')
    expect(Object.keys(hp)).not.toContain('defaultRootDir')
    expect(Object.keys(hp)).not.toContain('gradientClipVal') // undefined
  })

  it('hparamsOf: numbers, strings and booleans; nested records flattened; undefined, null and functions left out', () => {
    const hp = hparamsOf({ ...defaultOptions, checkValEveryNEpoch: null, limitValBatches: 3 }, { lr: 0.01 })
    expect(hp).toMatchObject({ minEpochs: 0, accelerator: 'auto', 'valCheckInterval.fraction': 1, limitValBatches: 3, lr: 0.01 })
    expect(Object.keys(hp).filter((k) => ['maxEpochs', 'checkValEveryNEpoch', 'ckptPath', 'defaultRootDir'].includes(k))).toEqual([])
    expect(Object.values(hp).every((v) => ['number', 'string', 'boolean'].includes(typeof v))).toBe(true)
  })

  it('hparams: false writes no hyperparameters', async () => {
    const fs = memoryFileSystem()
    const { done } = runTo(fs, { maxEpochs: 1 }, tensorboard({ hparams: false, dir: 'x' }))
    await done
    const decoded = decodeFile(onlyFile(fs, 'x')[1])
    expect(decoded.every((d, i) => (i === 0 ? d.what === 'file_version' : d.summary?.value.every((v) => v.value === 'simple_value')))).toBe(true)
    expect(decoded.length).toBeGreaterThan(1)
    expect(eventFileName(1_700_000_999_999, 'my host/x', 7, 2)).toBe('events.out.tfevents.1700000999.my_host_x.7.2')
  })

  it('tensorboard(dir) writes to disk with the live host name and pid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rxtrain-tb-'))
    try {
      await lastValueFrom(fit(module, tinyData(3, 1), { maxEpochs: 1, logEveryNSteps: 1 }, { backend, signals: quiet }).pipe(tensorboard(join(dir, 'tb')), toArray()))
      const names = await readdir(join(dir, 'tb'))
      expect(names).toHaveLength(1)
      expect(names[0]).toMatch(new RegExp(`^events\\.out\\.tfevents\\.\\d+\\.[^.]+.*\\.${process.pid}\\.0$`))
      const decoded = decodeFile(new Uint8Array(await readFile(join(dir, 'tb', names[0] as string))))
      expect(decoded[0]?.file_version).toBe('brain.Event:2')
      expect(scalarRows(decoded).filter((r) => r.values.some((v) => v.tag === 'train/loss'))).toHaveLength(3)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a run cut short still gets the rows it logged', async () => {
    const fs = memoryFileSystem()
    const seen: FitEvent[] = []
    const run = fit(module, tinyData(6, 2), { maxEpochs: 2, logEveryNSteps: 1, defaultRootDir: 'cut' }, { backend, fs, clock: tickingClock(), signals: quiet, processInfo: host }).pipe(
      tap((e) => seen.push(e)),
      tensorboard(),
      takeWhile((e) => !(e.type === 'trainStep' && e.epoch === 1 && e.batchIdx === 2), true),
      toArray(),
    )
    await lastValueFrom(run)
    await new Promise((resolve) => setTimeout(resolve, 10))
    const rows = scalarRows(decodeFile(onlyFile(fs, 'cut')[1]))
    expect(rows).toEqual(expectedRows(seen))
    expect(rows.filter((r) => r.values.some((v) => v.tag === 'train/loss'))).toHaveLength(9)
  })

  it('a fastDevRun writes nothing, not even the directory', async () => {
    const fs = memoryFileSystem()
    const { seen, done } = runTo(fs, { fastDevRun: true, defaultRootDir: 'runs/dev' })
    await done
    expect(seen.some((e) => e.type === 'trainStep')).toBe(true)
    expect(fs.files.size).toBe(0)
    expect(await fs.exists('runs/dev')()).toBe(false)
  })

  it('leaks no tensors', async () => {
    const fs = memoryFileSystem()
    await runTo(fs, { maxEpochs: 1, logEveryNSteps: 1 }).done // warm up kernels and caches
    const before = tf.memory().numTensors
    await runTo(fs, { maxEpochs: 2, logEveryNSteps: 1 }).done
    expect(tf.memory().numTensors).toBe(before)
  })

  it('a resumed run starts a new event file in the same directory; each holds its own run', async () => {
    const fs = memoryFileSystem()
    const dir = 'runs/r'
    const signals = manualSignals()
    let steps = 0
    const interrupt = tap((e: FitEvent) => {
      if (e.type === 'trainStep' && ++steps === 7) signals.raise('SIGINT')
    })
    // Saves the last checkpoint at the end of the run (the run waits for the write).
    const saveAtEnd = hook<undefined, FitEvent>({
      kind: 'saveAtEnd',
      on: ['fitEnd'],
      init: () => undefined,
      step: (s, e, ctx) => {
        if (e.type !== 'fitEnd') return [s]
        const files = encodeCheckpoint({ state: e.state, weightsOnly: false, loop: e.loop, hookStates: {}, options: null, precision: { name: '32-true', storageDtype: 'float32' }, meta: {}, createdAt: 'now' })
        return [
          s,
          [
            perform(async () => {
              const written = await writeCheckpoint(ctx.env.fs, '/ckpt', 'last', files)()
              if (E.isLeft(written)) throw written.left
            }),
          ],
        ]
      },
    })
    const options: TrainerOptions = { maxEpochs: 3, logEveryNSteps: 1, defaultRootDir: dir }
    const first = runTo(fs, options, (s: Observable<FitEvent>) => s.pipe(tensorboard(), interrupt, saveAtEnd), { signals })
    await first.done
    // the same clock readings, so the same second: the file number tells the files apart
    const second = runTo(fs, { ...options, ckptPath: '/ckpt/last' }, tensorboard())
    await second.done
    const resumed = second.seen[0]
    expect(resumed?.type === 'fitStart' && resumed.resumed?.from).toBe('/ckpt/last')
    const names = (await TE.getOrElse(() => async () => [] as string[])(fs.list(dir))()).filter((n) => n.startsWith('events.out.tfevents.'))
    expect(names).toEqual([eventFileName((first.seen[0] as FitEvent).time, 'testhost', 4242, 0), eventFileName((resumed as FitEvent).time, 'testhost', 4242, 1)])
    for (const [name, run] of [
      [names[0], first],
      [names[1], second],
    ] as const) {
      const decoded = decodeFile(fs.files.get(`${dir}/${name}`))
      expect(decoded[0]?.file_version).toBe('brain.Event:2')
      expect(scalarRows(decoded)).toEqual(expectedRows(run.seen))
    }
    // the resumed file restarts the session at the checkpoint's step (TensorBoard drops later points of the first file)
    const restart = decodeFile(fs.files.get(`${dir}/${names[1]}`)).find((e) => (e as { session_log?: unknown }).session_log !== undefined) as
      | { step: number | { toNumber(): number }; session_log: { status: number; checkpoint_path: string } }
      | undefined
    expect(restart?.session_log).toMatchObject({ status: 1, checkpoint_path: '/ckpt/last' })
    expect(Number(restart?.step)).toBe(resumed?.type === 'fitStart' ? resumed.resumed?.loop.globalStep : -1)
    // the resumed run carries on from where the first stopped
    const firstSteps = scalarRows(decodeFile(fs.files.get(`${dir}/${names[0]}`))).map((r) => r.step)
    const secondSteps = scalarRows(decodeFile(fs.files.get(`${dir}/${names[1]}`))).map((r) => r.step)
    expect(Math.min(...secondSteps)).toBeGreaterThanOrEqual(6)
    expect(Math.max(...firstSteps)).toBeLessThanOrEqual(7)
  })

  it('a failed write fails the run with the FileError', async () => {
    const memory = memoryFileSystem()
    const fs = { ...memory, appendFile: (path: string) => TE.left(fileError('append to', path, new Error('disk full'))) }
    const failing = fit(module, tinyData(3, 1), { maxEpochs: 1, logEveryNSteps: 1 }, { backend, fs, signals: quiet, processInfo: host }).pipe(tensorboard())
    const error = await lastValueFrom(failing).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isRxtrainError(error) && error.tag === 'FileError' && error.message).toMatch(/disk full/)
  })
})
