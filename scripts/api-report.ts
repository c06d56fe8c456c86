// Lists the public API (every named export of src/index.ts, values and types, namespaces counted
// once) with whether each has a doc comment and an @example: `node --import tsx scripts/api-report.ts`.
// The listing lives in test/support/api.ts, which test/api.test.ts also checks.
import { apiEntries } from '../test/support/api.js'

const entries = apiEntries()
for (const e of entries) {
  const members = e.namespace ? ` (${e.members.length} members${e.members.some((m) => !m.documented) ? `; without a doc comment: ${e.members.filter((m) => !m.documented).map((m) => m.name).join(', ')}` : ''})` : ''
  console.log(`${e.documented ? 'doc' : '   '} ${e.example ? 'ex' : '  '} ${e.namespace ? 'ns ' : '   '}${e.name}${members}`)
}
console.log(`${entries.length} exports, ${entries.filter((e) => !e.documented).length} without a doc comment, ${entries.filter((e) => !e.example).length} without an example`)
