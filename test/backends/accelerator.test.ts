import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { candidatesOf, describeChoice, selectBackend } from '../../src/backends/accelerator.js'
import { loadTensorflowPackage } from '../../src/backends/tensorflow.js'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { fit } from '../../src/pipeline/fit.js'
import { lineModule, tinyData } from '../support/tiny.js'
import { quiet } from '../support/backend.js'

// @tensorflow/tfjs-node(-gpu) are optional peer dependencies that cannot be installed here.

describe('accelerator selection', () => {
  it("'auto' tries GPU backends, then tensorflow, then wasm, then cpu", () => {
    expect(candidatesOf('auto')).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'])
    expect(candidatesOf('gpu')).toEqual(['tensorflow-gpu', 'webgpu'])
    expect(candidatesOf('wasm')).toEqual(['wasm'])
  })

  it("'tensorflow' without @tensorflow/tfjs-node is a BackendError saying what is missing and how to install it", async () => {
    const result = await selectBackend('tensorflow')()
    if (E.isRight(result)) throw new Error('tfjs-node is installed here; this test expects it absent')
    expect(result.left.tag).toBe('BackendError')
    expect(result.left.problem).toMatch(/needs @tensorflow\/tfjs-node, which is not installed \(its install script downloads libtensorflow 2\.9\.1/)
    expect(result.left.remedy).toMatch(/npm install @tensorflow\/tfjs-node@4\.22\.0/)
  })

  it("'gpu' with no GPU backend names each backend tried and why, with no stack trace", async () => {
    const result = await selectBackend('gpu')()
    if (E.isRight(result)) throw new Error(`a GPU backend initialised here: ${result.right.choice.description}`)
    const { message } = result.left
    expect(message).toMatch(/no backend for accelerator 'gpu' initialised here:\n {2}- tensorflow-gpu: .*tfjs-node-gpu, which is not installed.*CUDA 11\.2 and cuDNN 8\.1/)
    expect(message).toMatch(/\n {2}- webgpu: /)
    expect(message).not.toMatch(/\n\s+at /)
    expect(result.left.details).toEqual({ accelerator: 'gpu', tried: ['tensorflow-gpu', 'webgpu'] })
  })

  it("'auto' falls back to wasm here, and the run's first event says what it chose and why it passed over the others", async () => {
    const events = await lastValueFrom(fit(lineModule(), tinyData(2, 0), { maxEpochs: 1, accelerator: 'auto' }, { signals: quiet }).pipe(toArray()))
    const start = events[0]
    if (start?.type !== 'fitStart') throw new Error('the first event is not fitStart')
    expect(start.accelerator.requested).toBe('auto')
    expect(start.accelerator.backend).toBe('wasm')
    expect(start.accelerator.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow'])
    expect(describeChoice(start.accelerator)).toMatch(/^training on wasm \(XNNPACK.*\), accelerator 'auto'; passed over tensorflow-gpu \(.*not installed.*\), webgpu \(.*\), tensorflow \(.*not installed.*\)$/)
  })

  it('an installed but broken tfjs-node is reported as such', async () => {
    const broken = loadTensorflowPackage('tensorflow-gpu', async () => {
      throw new Error('libcudnn.so.8: cannot open shared object file: No such file or directory')
    })
    const error = await broken.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isRxtrainError(error) && error.problem).toMatch(
      /^@tensorflow\/tfjs-node-gpu is installed but failed to load: libcudnn\.so\.8: cannot open shared object file.*\(libtensorflow 2\.9\.1, CUDA 11\.2, cuDNN 8\.1\) is missing/,
    )
  })
})
