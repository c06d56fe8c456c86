/**
 * Compiles the WebAssembly text of rxtrain's own kernels (every src/backends/*.wat) into
 * TypeScript modules holding the binary as base64, so that nothing is compiled at install or run
 * time: `name.wat` becomes `nameBinary.ts`, exporting `nameBinary`. `npm run build:wasm`; tests
 * (test/backends/fusedAdam.test.ts, wasmFused*.test.ts) check that the committed binaries are current.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { wasmModuleSource } from './wasmModuleSource.js'

const dir = new URL('../src/backends/', import.meta.url)
for (const file of readdirSync(dir).filter((f) => f.endsWith('.wat')).sort()) {
  const name = `${file.slice(0, -'.wat'.length)}Binary`
  const out = new URL(`${name}.ts`, dir)
  writeFileSync(out, await wasmModuleSource(readFileSync(new URL(file, dir), 'utf8'), file, name))
  console.log(`wrote ${out.pathname}`)
}
