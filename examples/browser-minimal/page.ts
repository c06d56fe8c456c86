// examples/browser-minimal/page.ts: bundle it (esbuild, Vite); the page serves tfjs's .wasm files under /wasm/ and MNIST's IDX files under /mnist/.
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom } from 'rxjs'
import { checkpoint, csvLogger, data, effects, fit, progressBar } from 'rxtrain'
import { mlp } from '../browser-mnist/model.js'

setWasmPaths('/wasm/')
const arrays = await data.loadMnist(effects.fetchFileSystem('/mnist/'), '.')()
if (E.isLeft(arrays)) throw new Error(arrays.left.message)
const signals = effects.pageSignals() // the tab closed or hidden: SIGTERM, so the run stops at a step and saves `last`
document.querySelector('#stop')?.addEventListener('click', () => signals.raise('SIGINT'))
const env = { fs: effects.browserFileSystem(), signals, terminal: effects.pageTerminal(document.querySelector('#bar') ?? { textContent: '' }) }
const mnist = data.mnistDataModule(arrays.right, { batchSize: 128, limit: 2048 })
const end = await lastValueFrom(
  fit(mlp, mnist, { maxEpochs: 1, accelerator: 'wasm', defaultRootDir: 'runs/mnist' }, env).pipe(checkpoint({ saveLast: true }), csvLogger(), progressBar()),
)
document.title = end.type === 'fitEnd' ? `done: ${end.reason}` : end.type
await effects.downloadZip(env.fs, 'runs/mnist', 'mnist-run.zip')()
