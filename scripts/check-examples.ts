// Type-checks the public API's @example blocks and prints those that fail (all, or those whose
// name starts with one of the arguments): `node --import tsx scripts/check-examples.ts nn. fit`.
import { apiEntries } from '../test/support/api.js'
import { checkApiExamples } from '../test/support/apiExamples.js'
const only = process.argv.slice(2)
const s = performance.now()
const entries = apiEntries()
const r = checkApiExamples(entries)
for (const e of r) if (e.errors.length > 0 && (only.length === 0 || only.some((o) => e.name.startsWith(o)))) console.log(`--- ${e.name}\n${e.errors.slice(0, 4).join('\n')}`)
console.log(r.length, 'examples', r.filter((e) => e.errors.length > 0).length, 'failing', ((performance.now() - s) / 1000).toFixed(1), 's')
const missing = entries
  .flatMap((e) => [e, ...e.members.map((m) => ({ ...m, name: `${e.name}.${m.name}` }))])
  .filter((e) => !e.example && (only.length === 0 || only.some((o) => e.name.startsWith(o))))
console.log(`without an example (${missing.length}): ${missing.map((e) => e.name).join(' ')}`)
