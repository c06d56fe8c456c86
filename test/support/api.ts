import { fileURLToPath } from 'node:url'
import ts from 'typescript'

// The public API as the type checker sees it: every named export of src/index.ts (values and
// types; a namespace such as `nn` counts once), with whether it has a doc comment and an @example.
// scripts/api-report.ts prints it; test/api.test.ts holds it to the acceptance line.

/** One named export of the package root. */
export interface ApiEntry {
  readonly name: string
  /** Whether it is an `export * as name` namespace (a module of its own). */
  readonly namespace: boolean
  /** Whether it is a value (a function, a constant, a namespace) rather than a type only. */
  readonly value: boolean
  readonly documented: boolean
  readonly example: boolean
  /** The text of each of its `@example` tags (a namespace's: its module comment's). */
  readonly examples: readonly string[]
  /** A namespace's own exports (empty for anything else). */
  readonly members: readonly ApiEntry[]
}

const index = fileURLToPath(new URL('../../src/index.ts', import.meta.url))

/**
 * A namespace re-export resolves to a module, whose declaration is a source file: TypeScript
 * attaches no doc comment to a file, so its documentation is the `/** ... *\/` comment the file
 * starts with (before any import or export), as in src/nn/index.ts.
 */
const moduleDoc = (file: ts.SourceFile): { documented: boolean; example: boolean; examples: string[] } => {
  const none = { documented: false, example: false, examples: [] }
  const text = file.getFullText()
  const first = (ts.getLeadingCommentRanges(text, 0) ?? [])[0]
  if (first === undefined || first.kind !== ts.SyntaxKind.MultiLineCommentTrivia) return none
  const comment = text.slice(first.pos, first.end)
  if (!comment.startsWith('/**')) return none
  const body = comment
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, ''))
    .join('\n')
  const [description = '', ...tags] = body.split(/^@/m)
  const examples = tags.filter((t) => /^example\b/.test(t)).map((t) => t.replace(/^example\b/, '').trim())
  return { documented: description.trim().length > 0, example: examples.length > 0, examples }
}

/** Every named export of src/index.ts, in declaration order. */
export const apiEntries = (): ApiEntry[] => {
  // `#platform/*` as tsconfig.json maps it: Node's implementations (their doc comments are the API's).
  const platform = { baseUrl: fileURLToPath(new URL('../..', import.meta.url)), paths: { '#platform/*': ['./src/effects/platform/node/*'] } }
  const program = ts.createProgram([index], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true, ...platform })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(index)
  if (source === undefined) throw new Error('no src/index.ts')
  const moduleSymbol = checker.getSymbolAtLocation(source)
  if (moduleSymbol === undefined) throw new Error('src/index.ts is not a module')
  const entryOf = (s: ts.Symbol): ApiEntry => {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s
    const file = target.declarations?.find(ts.isSourceFile)
    if (file !== undefined) return { name: s.getName(), namespace: true, value: true, ...moduleDoc(file), members: checker.getExportsOfModule(target).map(entryOf) }
    const docs = ts.displayPartsToString(target.getDocumentationComment(checker)).trim()
    const examples = target
      .getJsDocTags(checker)
      .filter((t) => t.name === 'example')
      .map((t) => ts.displayPartsToString(t.text).trim())
    return { name: s.getName(), namespace: false, value: (target.flags & ts.SymbolFlags.Value) !== 0, documented: docs.length > 0, example: examples.length > 0, examples, members: [] }
  }
  return checker.getExportsOfModule(moduleSymbol).map(entryOf)
}
