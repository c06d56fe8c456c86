/**
 * Bundles tfjs-core's gradient definitions into `src/backends/tfjsGradients.generated.ts`, so that
 * rxtrain needs tfjs-core alone, not the `@tensorflow/tfjs` umbrella (see gradientsModuleSource.ts).
 * `npm run build:gradients`; test/backends/gradients.test.ts checks that the committed file is current.
 */
import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
import { gradientsModuleSource } from './gradientsModuleSource.js'

const { version } = createRequire(import.meta.url)('@tensorflow/tfjs-core/package.json') as { version: string }
const out = new URL('../src/backends/tfjsGradients.generated.ts', import.meta.url)
writeFileSync(out, await gradientsModuleSource(version))
console.log(`wrote ${out.pathname}`)
