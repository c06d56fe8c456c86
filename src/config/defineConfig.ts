import type { RunConfig } from './runConfig.js'

/**
 * A run config in TypeScript: the default export of an `rxtrain.config.ts`, which
 * `rxtrain fit --config rxtrain.config.ts` loads (through tsx) and validates like a YAML file.
 * It returns its argument; what it adds is the type, so the editor completes the trainer options
 * and the hook names and their options, and the compiler refuses a misspelt key before any run.
 * Module paths are relative to the config file's folder.
 *
 * @example
 * // rxtrain.config.ts: `export default defineConfig({ ... })`
 * const config = defineConfig({
 *   name: 'mnist-mlp',
 *   model: { module: './train.ts', export: 'mlp' },
 *   data: { module: '../shared/mnistData.ts', export: 'mnist', args: { batchSize: 128, layout: 'flat' } },
 *   trainer: { maxEpochs: 3, seed: 0, precision: 'bf16-mixed' },
 *   hooks: ['modelSummary', { checkpoint: { monitor: 'val/loss', saveTopK: 2, saveLast: true } }, 'progressBar', 'csvLogger'],
 *   test: { ckptPath: 'best' },
 * })
 */
export const defineConfig = (config: RunConfig): RunConfig => config
