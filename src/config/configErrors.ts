import type * as t from 'io-ts'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { describe, OptionType } from '../pipeline/optionTypes.js'
import { formatConfigPath, type PathSegment } from './configPath.js'

/*
 * A config's mistakes as a user reads them: every one at once, each with its path
 * (`hooks[1].earlyStopping.patience`), the rule it breaks, the value given, a did-you-mean for a
 * misspelt key, and where it was given (file and line, or the command-line override).
 */

/** One thing wrong in a config. */
export interface ConfigIssue {
  /** Where in the config: `['hooks', 1, 'earlyStopping', 'patience']`; empty for the whole. */
  readonly at: readonly PathSegment[]
  /** What is wrong, after the path: `must be an integer >= 0, got -3`. */
  readonly message: string
  /** Where the value was given: `run.yaml:14`, `--set trainer.maxEpochs=x`. */
  readonly where?: string
}

const typeWords: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  UnknownRecord: 'an object',
  UnknownArray: 'a list',
  never: 'nothing',
}

/** What a codec expects, in words. */
const expected = (type: t.Decoder<unknown, unknown> | undefined): string => {
  if (type === undefined) return 'a value'
  if (type instanceof OptionType) return type.rule
  const keys = (type as { readonly keys?: unknown }).keys
  if (Array.isArray(keys)) return `an object${keys.length > 0 ? ` of ${keys.join(', ')}` : ''}`
  const tag = (type as { readonly _tag?: unknown })._tag
  if (tag === 'ArrayType' || tag === 'ReadonlyArrayType') return 'a list'
  return typeWords[type.name] ?? type.name
}

/** The path of an io-ts error: object keys and list indexes, without the member numbers that unions and intersections add. */
const pathOf = (context: t.Context): PathSegment[] => {
  const at: PathSegment[] = []
  context.forEach((entry, i) => {
    if (i === 0 || entry.key === '') return
    const parent = context[i - 1]
    const tag = (parent?.type as { readonly _tag?: unknown } | undefined)?._tag
    if (tag === 'UnionType' || tag === 'IntersectionType') return
    at.push(Array.isArray(parent?.actual) && /^\d+$/.test(entry.key) ? Number(entry.key) : entry.key)
  })
  return at
}

/**
 * The issues of an io-ts decoding failure, one per path and message (a union's members can say
 * the same thing twice).
 */
export const issuesOf = (errors: t.Errors): ConfigIssue[] => {
  const seen = new Set<string>()
  const issues: ConfigIssue[] = []
  for (const e of errors) {
    const at = pathOf(e.context)
    const type = e.context.at(-1)?.type
    const message =
      e.value === undefined
        ? `is required: ${expected(type)}`
        : (e.message ?? `must be ${expected(type)}, got ${describe(e.value)}`)
    const key = `${formatConfigPath(at)}\u0000${message}`
    if (seen.has(key)) continue
    seen.add(key)
    issues.push({ at, message })
  }
  return issues
}

/** One issue as a line: `hooks[1].earlyStopping.patience must be an integer >= 0, got -3 (run.yaml:14)`. */
export const formatIssue = (issue: ConfigIssue): string => {
  const path = formatConfigPath(issue.at)
  return `${path === '' ? 'the config' : path} ${issue.message}${issue.where === undefined ? '' : ` (${issue.where})`}`
}

/**
 * The ConfigError of a config's issues: the problem lists them all, one a line; `details.issues`
 * holds them as data (path, message, where).
 *
 * @example
 * configIssuesError('run.yaml', [{ at: ['trainer', 'maxEpoch'], message: "is not a known option; did you mean 'maxEpochs'?" }])
 */
export const configIssuesError = (what: string, issues: readonly ConfigIssue[]): RxtrainError<'ConfigError'> =>
  rxtrainError(
    'ConfigError',
    `${what} has ${issues.length === 1 ? 'an error' : `${issues.length} errors`}:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`,
    `fix ${issues.length === 1 ? 'it' : 'each one'} where it was given (\`rxtrain print-config\` shows the merged config; an editor with the YAML language server checks a file against schema/rxtrain.schema.json as you type).`,
    { field: issues[0] === undefined ? undefined : formatConfigPath(issues[0].at), issues: issues.map((i) => ({ path: formatConfigPath(i.at), message: i.message, ...(i.where !== undefined && { where: i.where }) })) },
  )
