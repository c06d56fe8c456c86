/**
 * Compiles the WebAssembly text of rxtrain's own kernels (src/backends/*.wat) into TypeScript
 * modules holding the binary as base64, so that nothing is compiled at install or run time.
 * `npm run build:wasm`; test/backends/wasmAdam.test.ts checks that the committed binary is current.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { wasmModuleSource } from './wasmModuleSource.js'

const wat = new URL('../src/backends/wasmAdam.wat', import.meta.url)
const out = new URL('../src/backends/wasmAdamBinary.ts', import.meta.url)
writeFileSync(out, await wasmModuleSource(readFileSync(wat, 'utf8'), 'wasmAdam.wat', 'wasmAdamBinary'))
console.log(`wrote ${out.pathname}`)
