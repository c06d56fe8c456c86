/**
 * Writes the JSON Schemas of the run config and the sweep spec into `schema/` (shipped with the
 * package), so that editors complete and check YAML configs (`# yaml-language-server: $schema=`).
 * `npm run build:schema`; test/config/schemaFiles.test.ts checks that the committed files are current.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { schemaFiles } from './schemaSource.js'

for (const [path, text] of Object.entries(schemaFiles())) {
  const out = new URL(`../${path}`, import.meta.url)
  mkdirSync(new URL('.', out), { recursive: true })
  writeFileSync(out, text)
  console.log(`wrote ${out.pathname}`)
}
