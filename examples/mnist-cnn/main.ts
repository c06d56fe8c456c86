/**
 * Train a small convolutional network on MNIST: `npm run example:cnn` (flags: `-- --help`).
 *
 * conv 3x3x32 -> max-pool -> conv 3x3x64 -> max-pool -> dense 10, with a progress bar and
 * checkpoints under runs/mnist-cnn/version_N/. The flags are the MLP's (default 1 epoch);
 * `--devices N` trains data-parallel on N ranks (one per core: wasm runs one thread each).
 * Ctrl-C or SIGTERM stops at the next step, saves `last`, skips the test and prints the command
 * that resumes.
 *
 * The module and the run are in train.ts; this file reads the command line first, so that
 * `--help` and a bad flag answer without loading TensorFlow.js.
 */
import { pathToFileURL } from 'node:url'
import type { ExampleSpec } from '../shared/cli.js'
import { exampleMain, runProgram } from '../shared/program.js'

export const spec: ExampleSpec = {
  name: 'mnist-cnn',
  summary: 'Train a small convolutional network on MNIST, then test it.',
  command: 'npm run example:cnn --',
  epochs: 1,
  runs: 'runs/mnist-cnn',
}

export const main = exampleMain(spec, () => import('./train.js'))

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) runProgram(spec, main)
