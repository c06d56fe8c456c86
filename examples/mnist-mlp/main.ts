/**
 * Train a multilayer perceptron on MNIST: `npm start` (flags: `npm start -- --help`).
 *
 * Writes TensorBoard events, metrics.csv, hparams.yaml and checkpoints under
 * runs/mnist-mlp/version_N/, shows a progress bar, and tests the best checkpoint.
 * Ctrl-C or SIGTERM stops at the next step (or before the first one, during start-up), saves,
 * and prints the command that resumes exactly there.
 *
 * The module and the run are in train.ts; this file reads the command line first, so that
 * `--help` and a bad flag answer without loading TensorFlow.js.
 */
import { pathToFileURL } from 'node:url'
import type { ExampleSpec } from '../shared/cli.js'
import { exampleMain, runProgram } from '../shared/program.js'

export const spec: ExampleSpec = {
  name: 'mnist-mlp',
  summary: 'Train a multilayer perceptron (784-256-10) on MNIST, then test its best checkpoint.',
  command: 'npm start --',
  epochs: 3,
  runs: 'runs/mnist-mlp',
  tuner: true,
}

export const main = exampleMain(spec, () => import('./train.js'))

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) runProgram(spec, main)
