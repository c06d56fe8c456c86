/**
 * Measures, in a fresh process, the time from process start to the first finished training step
 * of the MNIST MLP (what `npm start` does), with data loading measured separately and left out.
 * Prints one JSON line. Run by bench/main.ts.
 */
import * as E from 'fp-ts/lib/Either.js'
import { firstValueFrom, filter } from 'rxjs'

const importsStart = performance.now()
const rxtrain = await import('../src/index.js')
const { mlp } = await import('../examples/mnist-mlp/train.js')
const importsDone = performance.now()

const dataStart = performance.now()
const arrays = await rxtrain.data.loadMnistPackage(rxtrain.effects.nodeFileSystem)()
if (E.isLeft(arrays)) throw arrays.left
const digits = rxtrain.data.mnistDataModule(arrays.right, { batchSize: 128 })
const dataMs = performance.now() - dataStart

await firstValueFrom(rxtrain.fit(mlp, digits, { maxEpochs: 1, numSanityValSteps: 0 }).pipe(filter((e) => e.type === 'trainStep')))
const firstStep = performance.now()
process.stdout.write(
  `${JSON.stringify({
    processStartToFirstStepMs: firstStep - dataMs,
    dataLoadMs: dataMs,
    importMs: importsDone - importsStart,
    beforeImportsMs: importsStart,
  })}\n`,
)
process.exit(0)
