// Lists the public API (every named export of src/index.ts, values and types, namespaces counted
// once) with whether each has a doc comment and an @example: `node --import tsx scripts/api-report.ts`.
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const index = fileURLToPath(new URL('../src/index.ts', import.meta.url))
const program = ts.createProgram([index], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true })
const checker = program.getTypeChecker()
const source = program.getSourceFile(index)
if (source === undefined) throw new Error('no src/index.ts')
const moduleSymbol = checker.getSymbolAtLocation(source)
if (moduleSymbol === undefined) throw new Error('src/index.ts is not a module')

export interface ApiEntry {
  readonly name: string
  readonly documented: boolean
  readonly example: boolean
}

export const apiEntries = (): ApiEntry[] =>
  checker.getExportsOfModule(moduleSymbol).map((s) => {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s
    const docs = ts.displayPartsToString(target.getDocumentationComment(checker)).trim()
    const tags = target.getJsDocTags(checker)
    return { name: s.getName(), documented: docs.length > 0, example: tags.some((t) => t.name === 'example') }
  })

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const entries = apiEntries()
  for (const e of entries) console.log(`${e.documented ? 'doc' : '   '} ${e.example ? 'ex' : '  '} ${e.name}`)
  console.log(`${entries.length} exports, ${entries.filter((e) => !e.documented).length} without a doc comment, ${entries.filter((e) => !e.example).length} without an example`)
}
