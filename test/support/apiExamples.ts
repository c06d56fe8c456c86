import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { type ApiEntry, apiEntries } from './api.js'

// Type-checks the @example of every public export (and of every member of its namespaces) as a
// user's file: the example's own imports, then every export of 'rxtrain', a few common modules and
// the names of test/support/exampleContext.ts, the example's statements inside an async function.
// One program for all of them, under the project's own compiler options.

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** One example, where it comes from and what the type checker says of it. */
export interface CheckedExample {
  /** `fit`, or `nn.dense` for a namespace member; `#2` and on for a second example of one export. */
  readonly name: string
  readonly text: string
  /** The type checker's messages, each with its line in the example; empty when it type-checks. */
  readonly errors: readonly string[]
}

const contextNames = ['Batch', 'module', 'train', 'val', 'model', 'backend', 'batch', 'batches', 'state', 'ctx', 'events', 'logits', 'labels', 'x', 'images', 'digits', 'params', 'grads']
const common: Record<string, { readonly names: readonly string[]; readonly star?: boolean; readonly types?: readonly string[] }> = {
  '@tensorflow/tfjs-core': { names: ['tf'], star: true },
  'io-ts': { names: ['t'], star: true },
  'fp-ts/lib/Either.js': { names: ['E'], star: true },
  'fp-ts/lib/function.js': { names: ['pipe'] },
  rxjs: { names: ['asyncScheduler', 'concatMap', 'delay', 'EMPTY', 'filter', 'firstValueFrom', 'from', 'lastValueFrom', 'map', 'mergeMap', 'Observable', 'observeOn', 'of', 'share', 'take', 'tap', 'toArray'] },
}

/** The names an example's own import declarations bring in. */
const importedNames = (source: ts.SourceFile): Set<string> => {
  const names = new Set<string>()
  for (const s of source.statements) {
    if (!ts.isImportDeclaration(s) || s.importClause === undefined) continue
    const c = s.importClause
    if (c.name !== undefined) names.add(c.name.text)
    const b = c.namedBindings
    if (b === undefined) continue
    if (ts.isNamespaceImport(b)) names.add(b.name.text)
    else for (const e of b.elements) names.add(e.name.text)
  }
  return names
}

/** The file an example becomes. */
const fileOf = (text: string, exports: readonly ApiEntry[]): { readonly text: string; readonly bodyLine: number } => {
  const parsed = ts.createSourceFile('example.ts', text, ts.ScriptTarget.ES2022, true)
  const own = importedNames(parsed)
  const imports = parsed.statements.filter(ts.isImportDeclaration).map((s) => s.getText(parsed))
  const body = parsed.statements.filter((s) => !ts.isImportDeclaration(s))
  const bodyText = body.length === 0 ? '' : text.slice(body[0]?.getFullStart(), text.length)
  const wanted = (n: string) => !own.has(n)
  const named = exports.filter((e) => wanted(e.name))
  const lines = [
    ...imports,
    `import { ${named.filter((e) => e.value).map((e) => e.name).join(', ')} } from 'rxtrain'`,
    `import type { ${named.filter((e) => !e.value).map((e) => e.name).join(', ')} } from 'rxtrain'`,
    ...Object.entries(common).flatMap(([from, c]) => {
      const ns = c.names.filter(wanted)
      if (ns.length === 0) return []
      return [c.star === true ? `import * as ${ns[0]} from '${from}'` : `import { ${ns.join(', ')} } from '${from}'`]
    }),
    `import { ${contextNames.filter(wanted).map((n) => (n === 'Batch' ? 'type Batch' : n)).join(', ')} } from '${join(root, 'test', 'support', 'exampleContext.js')}'`,
    'export async function example(): Promise<void> {',
  ]
  return { text: `${lines.join('\n')}\n${bodyText}\n}\n`, bodyLine: lines.length - (text.split('\n').length - bodyText.split('\n').length) }
}

/** Every example of the public API, type-checked. */
export const checkApiExamples = (entries: readonly ApiEntry[] = apiEntries()): CheckedExample[] => {
  const named = entries.flatMap((e) => [e, ...e.members.map((m) => ({ ...m, name: `${e.name}.${m.name}` }))])
  const examples = named.flatMap((e) => e.examples.map((text, i) => ({ name: i === 0 ? e.name : `${e.name}#${i + 1}`, text })))
  const files = examples.map((ex, i) => ({ ...ex, path: join(root, 'test', 'support', `.example-${i}.ts`), ...fileOf(ex.text, entries) }))
  const byPath = new Map(files.map((f) => [f.path, f]))
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })
  if (config === undefined) throw new Error('tsconfig.json does not parse')
  const options = { ...config.options, noEmit: true, declaration: false, sourceMap: false }
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (path, language, onError) => {
    const f = byPath.get(path)
    return f !== undefined ? ts.createSourceFile(path, f.text, language, true) : getSourceFile(path, language, onError)
  }
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (path) => byPath.has(path) || fileExists(path)
  const program = ts.createProgram(
    files.map((f) => f.path),
    options,
    host,
  )
  return files.map((f) => {
    const source = program.getSourceFile(f.path) as ts.SourceFile
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    const errors = diagnostics.map((d) => {
      const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line - f.bodyLine + 1
      return `line ${line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
    })
    return { name: f.name, text: f.text, errors }
  })
}
