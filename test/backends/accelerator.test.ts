import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { type BackendProbe, type BackendProbes, candidatesOf, describeChoice, liveBackends, startBackend, selectBackend } from '../../src/backends/accelerator.js'
import { type Backend, type BackendName, withoutHostReads } from '../../src/backends/backend.js'
import { loadTensorflowPackage } from '../../src/backends/tensorflow.js'
import { isRxtrainError, rxtrainError } from '../../src/errors/rxtrainError.js'
import { fit } from '../../src/pipeline/fit.js'
import { lineModule, tinyData } from '../support/tiny.js'
import { quiet, useBackend } from '../support/backend.js'

// The selection is tested with fake candidates, so that the outcome does not depend on what this
// machine has installed (tfjs-node, a GPU, Vulkan). Each fake is the real cpu backend renamed.

let cpu: Backend
beforeAll(async () => {
  cpu = await useBackend('cpu')
})

const names: readonly BackendName[] = ['cpu', 'wasm', 'webgpu', 'tensorflow', 'tensorflow-gpu']

/** What the fakes were asked, in order: the backend and whether only a hardware adapter would do. */
type Asked = { readonly backend: BackendName; readonly hardwareOnly: boolean }

/** A fake `name` that initialises (activation is recorded), optionally without synchronous reads. */
const available =
  (name: BackendName, log: string[], o: { readonly hostReads?: boolean } = {}): BackendProbe =>
  async () => {
    const base = o.hostReads === false ? withoutHostReads(cpu) : cpu
    return E.right({ ...base, name, description: `${name} (fake)`, activate: () => log.push(`activate ${name}`) })
  }

/** A fake `name` whose package is not installed. */
const missing =
  (name: BackendName): BackendProbe =>
  async () =>
    E.left(rxtrainError('BackendError', `the ${name} backend needs @fake/${name}, which is not installed (a test double)`, `npm install @fake/${name}`, { backend: name }))

/** A fake `name` whose initialisation throws (a broken native library). */
const throwing =
  (name: BackendName): BackendProbe =>
  async () => {
    throw new Error(`lib${name}.so: cannot open shared object file`)
  }

/** Probes: each name as given, every other one missing; records what was asked. */
const probes = (given: Partial<Record<BackendName, BackendProbe>>, asked: Asked[] = []): BackendProbes =>
  Object.fromEntries(
    names.map((name) => [
      name,
      (o: { readonly hardwareOnly: boolean }) => {
        asked.push({ backend: name, hardwareOnly: o.hardwareOnly })
        return (given[name] ?? missing(name))(o)
      },
    ]),
  ) as unknown as BackendProbes

describe('accelerator selection', () => {
  it("'auto' tries GPU backends, then tensorflow, then wasm, then cpu; the live probes cover every backend", () => {
    expect(candidatesOf('auto')).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'])
    expect(candidatesOf('gpu')).toEqual(['tensorflow-gpu', 'webgpu'])
    expect(candidatesOf('wasm')).toEqual(['wasm'])
    expect(Object.keys(liveBackends).sort()).toEqual([...names].sort())
  })

  it("'auto' takes the first candidate that initialises, activates it, and says why it passed over the ones before", async () => {
    const log: string[] = []
    const asked: Asked[] = []
    const result = await selectBackend('auto', undefined, probes({ webgpu: throwing('webgpu'), tensorflow: available('tensorflow', log), wasm: available('wasm', log) }, asked))()
    if (E.isLeft(result)) throw result.left
    const { backend, choice } = result.right
    expect(backend.name).toBe('tensorflow')
    expect(backend.choice).toEqual(choice)
    expect(log).toEqual(['activate tensorflow'])
    // Later candidates are not even loaded; webgpu was asked for a hardware adapter only.
    expect(asked).toEqual([
      { backend: 'tensorflow-gpu', hardwareOnly: true },
      { backend: 'webgpu', hardwareOnly: true },
      { backend: 'tensorflow', hardwareOnly: true },
    ])
    expect(choice).toEqual({
      requested: 'auto',
      backend: 'tensorflow',
      description: 'tensorflow (fake)',
      skipped: [
        { backend: 'tensorflow-gpu', reason: 'the tensorflow-gpu backend needs @fake/tensorflow-gpu, which is not installed (a test double)' },
        { backend: 'webgpu', reason: 'the webgpu backend failed to start: libwebgpu.so: cannot open shared object file' },
      ],
    })
    expect(describeChoice(choice)).toBe(
      "training on tensorflow (fake), accelerator 'auto'; passed over tensorflow-gpu (needs @fake/tensorflow-gpu, which is not installed), webgpu (failed to start: libwebgpu.so: cannot open shared object file)",
    )
  })

  it("'auto' falls back to cpu when nothing else initialises", async () => {
    const log: string[] = []
    const result = await selectBackend('auto', undefined, probes({ cpu: available('cpu', log) }))()
    if (E.isLeft(result)) throw result.left
    expect(result.right.choice.backend).toBe('cpu')
    expect(result.right.choice.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm'])
    expect(log).toEqual(['activate cpu'])
  })

  it("what the run needs synchronous reads for makes 'auto' pass over a backend without them, but not an explicit choice", async () => {
    const log: string[] = []
    const given = probes({ webgpu: available('webgpu', log, { hostReads: false }), wasm: available('wasm', log) })
    const auto = await selectBackend('auto', "strategy 'ddp'", given)()
    if (E.isLeft(auto)) throw auto.left
    expect(auto.right.choice.backend).toBe('wasm')
    expect(auto.right.choice.skipped[1]).toEqual({ backend: 'webgpu', reason: "it cannot read values synchronously, which strategy 'ddp' needs" })
    const withoutNeed = await selectBackend('auto', undefined, given)()
    expect(E.isRight(withoutNeed) && withoutNeed.right.choice.backend).toBe('webgpu')
    const explicit = await startBackend('webgpu', "strategy 'ddp'", given)()
    expect(E.isRight(explicit) && explicit.right.hostReads).toBe(false)
  })

  it("an explicit backend is tried with software adapters allowed, and its own error comes back unchanged when it is missing", async () => {
    const asked: Asked[] = []
    const webgpu = await selectBackend('webgpu', undefined, probes({ webgpu: available('webgpu', []) }, asked))()
    expect(E.isRight(webgpu) && webgpu.right.choice).toEqual({ requested: 'webgpu', backend: 'webgpu', description: 'webgpu (fake)', skipped: [] })
    expect(asked).toEqual([{ backend: 'webgpu', hardwareOnly: false }])
    const tensorflow = await selectBackend('tensorflow', undefined, probes({}))()
    if (E.isRight(tensorflow)) throw new Error('the fake tensorflow backend is missing')
    expect(tensorflow.left.problem).toBe('the tensorflow backend needs @fake/tensorflow, which is not installed (a test double)')
    expect(tensorflow.left.remedy).toBe('npm install @fake/tensorflow')
  })

  it('an explicit backend that throws while starting is a BackendError with its message, not a crash', async () => {
    const result = await startBackend('tensorflow-gpu', undefined, probes({ 'tensorflow-gpu': throwing('tensorflow-gpu') }))()
    if (E.isRight(result)) throw new Error('the fake tensorflow-gpu backend throws')
    expect(result.left.tag).toBe('BackendError')
    expect(result.left.problem).toBe('the tensorflow-gpu backend failed to start: libtensorflow-gpu.so: cannot open shared object file')
    expect(result.left.details).toEqual({ backend: 'tensorflow-gpu' })
  })

  it("'gpu' with no GPU backend names each backend tried and why, with no stack trace", async () => {
    const result = await selectBackend('gpu', undefined, probes({ webgpu: throwing('webgpu'), wasm: available('wasm', []), cpu: available('cpu', []) }))()
    if (E.isRight(result)) throw new Error(`'gpu' chose ${result.right.choice.backend}`)
    expect(result.left.tag).toBe('BackendError')
    expect(result.left.problem).toBe(
      "no backend for accelerator 'gpu' initialised here:\n" +
        '  - tensorflow-gpu: the tensorflow-gpu backend needs @fake/tensorflow-gpu, which is not installed (a test double)\n' +
        '  - webgpu: the webgpu backend failed to start: libwebgpu.so: cannot open shared object file',
    )
    expect(result.left.remedy).toMatch(/install @tensorflow\/tfjs-node-gpu \(CUDA 11\.2 \+ cuDNN 8\.1\) or run where WebGPU finds a GPU/)
    expect(result.left.message).not.toMatch(/\n\s+at /)
    expect(result.left.details).toEqual({ accelerator: 'gpu', tried: ['tensorflow-gpu', 'webgpu'] })
  })

  it("the run's first event says what the accelerator chose and why it passed over the others", async () => {
    const selected = await selectBackend('auto', undefined, probes({ wasm: available('wasm', []) }))()
    if (E.isLeft(selected)) throw selected.left
    // The fake is cpu underneath: activate it for real so that the run computes.
    const backend = { ...selected.right.backend, activate: cpu.activate }
    const events = await lastValueFrom(fit(lineModule(), tinyData(2, 0), { maxEpochs: 1, accelerator: 'auto' }, { backend, signals: quiet }).pipe(toArray()))
    const start = events[0]
    if (start?.type !== 'fitStart') throw new Error('the first event is not fitStart')
    expect(start.accelerator).toEqual(selected.right.choice)
    expect(describeChoice(start.accelerator)).toMatch(/^training on wasm \(fake\), accelerator 'auto'; passed over tensorflow-gpu \(needs .*\), webgpu \(needs .*\), tensorflow \(needs .*\)$/)
  })
})

describe('tensorflow packages', () => {
  const failure = (p: Promise<void>): Promise<unknown> =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    )

  it('an absent @tensorflow/tfjs-node is a BackendError saying what is missing and how to install it', async () => {
    const error = await failure(
      loadTensorflowPackage('tensorflow', async (specifier) => {
        throw Object.assign(new Error(`Cannot find package '${specifier}' imported from rxtrain`), { code: 'ERR_MODULE_NOT_FOUND' })
      }),
    )
    if (!isRxtrainError(error)) throw new Error('expected a BackendError')
    expect(error.tag).toBe('BackendError')
    expect(error.problem).toMatch(/^the tensorflow backend needs @tensorflow\/tfjs-node, which is not installed \(its install script downloads libtensorflow 2\.9\.1/)
    expect(error.remedy).toMatch(/npm install @tensorflow\/tfjs-node@4\.22\.0/)
  })

  it('in a browser, the tensorflow backends say they run only in Node, without trying the import', async () => {
    const asked: string[] = []
    const error = await failure(loadTensorflowPackage('tensorflow-gpu', async (specifier) => asked.push(specifier), false))
    expect(isRxtrainError(error) && `${error.problem} | ${error.remedy}`).toMatch(/^the tensorflow-gpu backend runs only in Node \(@tensorflow\/tfjs-node-gpu is a native addon.*\| in a browser, choose accelerator: 'wasm' or 'webgpu'/)
    expect(asked).toEqual([])
  })

  it('an installed but broken tfjs-node is reported as such', async () => {
    const error = await failure(
      loadTensorflowPackage('tensorflow-gpu', async () => {
        throw new Error('libcudnn.so.8: cannot open shared object file: No such file or directory')
      }),
    )
    expect(isRxtrainError(error) && error.problem).toMatch(
      /^@tensorflow\/tfjs-node-gpu is installed but failed to load: libcudnn\.so\.8: cannot open shared object file.*\(libtensorflow 2\.9\.1, CUDA 11\.2, cuDNN 8\.1\) is missing/,
    )
  })
})
