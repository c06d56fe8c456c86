import { dirname, isAbsolute, relative, resolve } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import YAML from 'yaml'
import type { FileSystem } from '../effects/fileSystem.js'
import type { ImportFile } from '../effects/importFile.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { type ConfigIssue, configIssuesError } from './configErrors.js'
import { parseConfigPath, type PathSegment } from './configPath.js'
import { isPlainObject, mergeConfigs, setConfigValue } from './merge.js'
import { type ResolvedRunConfig, resolveRunConfig } from './runConfig.js'

/*
 * From the command line's `--config` files and overrides to a validated run config: each file
 * read (YAML or JSON, or TypeScript/JavaScript exporting `defineConfig({...})` by default), its
 * module paths made absolute against its own folder, the files merged in order, the overrides
 * set, and the result validated; every mistake reported at once with where it was given.
 */

/** One layer of a config: a file, or an override from the command line. */
interface Layer {
  /** `examples/mnist-mlp/run.yaml`, or `--set trainer.maxEpochs=5`. */
  readonly label: string
  readonly value: unknown
  /** Where in the file a path was given (YAML files): its line, and its offset for ordering. */
  readonly placeOf?: (at: readonly PathSegment[]) => { readonly line: number; readonly offset: number } | undefined
  /** An override's path: the layer gave this path and everything under it. */
  readonly sets?: readonly PathSegment[]
}

/** An override from the command line: `--set trainer.maxEpochs=5` or `--trainer.maxEpochs 5`. */
export interface ConfigOverride {
  /** As typed, for messages. */
  readonly flag: string
  /** `trainer.maxEpochs`. */
  readonly path: string
  /** The value's text, read as YAML (`5` a number, `true` a boolean, `[a, b]` a list, else a string). */
  readonly text: string
}

/** What loading needs: files to read, code to import, and the folder relative paths start from. */
export interface ConfigSources {
  readonly files: readonly string[]
  readonly overrides?: readonly ConfigOverride[]
  readonly cwd: string
  readonly fs: FileSystem
  readonly importFile: ImportFile
}

const CODE = /\.(ts|mts|cts|tsx|js|mjs|cjs)$/

/** A module reference that is a file path (resolved against the config's folder) rather than a package name. */
const isPathLike = (module: string): boolean => module.startsWith('./') || module.startsWith('../') || isAbsolute(module) || (!module.startsWith('@') && !module.includes('/') && CODE.test(module))

/** The config with `model.module` and `data.module` made absolute against `dir`. */
const withAbsoluteModules = (config: unknown, dir: string): unknown => {
  if (!isPlainObject(config)) return config
  const out: Record<string, unknown> = { ...config }
  for (const key of ['model', 'data'] as const) {
    const ref = config[key]
    if (isPlainObject(ref) && typeof ref.module === 'string' && ref.module !== '' && isPathLike(ref.module)) out[key] = { ...ref, module: resolve(dir, ref.module) }
  }
  return out
}

const fileError = (label: string, problem: string, remedy: string): RxtrainError<'ConfigError'> => rxtrainError('ConfigError', `${label}: ${problem}`, remedy, { file: label })

const yamlLayer = (label: string, text: string, dir: string): E.Either<RxtrainError<'ConfigError'>, Layer> => {
  const lineCounter = new YAML.LineCounter()
  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: false })
  const [first] = doc.errors
  if (first !== undefined) {
    const lines = doc.errors.map((e) => `line ${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`)
    return E.left(fileError(label, `is not valid YAML (${lines.join('; ')})`, 'fix the YAML there (indentation, a missing colon or quote; keys must be unique).'))
  }
  const value = doc.toJS() as unknown
  if (value !== null && !isPlainObject(value)) return E.left(fileError(label, `must hold a mapping of keys (model, data, trainer, hooks, ...), got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`, 'write the config as key: value lines.'))
  return E.right({
    label,
    value: withAbsoluteModules(value ?? {}, dir),
    placeOf: (at) => {
      const node = doc.getIn(at, true) as { readonly range?: readonly number[] } | undefined
      const start = node?.range?.[0]
      return start === undefined ? undefined : { line: lineCounter.linePos(start).line, offset: start }
    },
  })
}

/** Reads one config file as a layer. */
const loadFile = async (file: string, sources: ConfigSources): Promise<E.Either<RxtrainError<'ConfigError'>, Layer>> => {
  const path = resolve(sources.cwd, file)
  const rel = relative(sources.cwd, path)
  const label = rel.startsWith('..') || isAbsolute(rel) ? path : rel
  if (!(await sources.fs.exists(path)())) return E.left(fileError(label, 'no such config file', 'give the path of a YAML, JSON or TypeScript config (relative to the working directory).'))
  if (CODE.test(path)) {
    const loaded = await sources.importFile(path)()
    if (E.isLeft(loaded)) return loaded
    const exported = loaded.right.default
    if (!isPlainObject(exported)) return E.left(fileError(label, 'has no default export holding a config', 'end it with `export default defineConfig({ ... })` (defineConfig is exported by rxtrain).'))
    return E.right({ label, value: withAbsoluteModules(exported, dirname(path)) })
  }
  const text = await sources.fs.readText(path)()
  if (E.isLeft(text)) return E.left(fileError(label, `cannot be read: ${text.left.problem}`, text.left.remedy))
  return yamlLayer(label, text.right, dirname(path))
}

/** An override as a layer, or what is wrong with it. */
const overrideLayer = (o: ConfigOverride, cwd: string): E.Either<ConfigIssue, Layer & { readonly sets: readonly PathSegment[] }> => {
  const at = parseConfigPath(o.path)
  if (at === undefined) return E.left({ at: [], message: `cannot be set: '${o.path}' is not a path such as trainer.maxEpochs or hooks[1].checkpoint.monitor`, where: o.flag })
  let value: unknown
  try {
    value = YAML.parse(o.text) as unknown
  } catch {
    value = o.text
  }
  // A module path given on the command line is relative to the working directory.
  const [section, key, ...rest] = at
  const isRef = (section === 'model' || section === 'data') && rest.length === 0
  const rooted =
    isRef && key === undefined
      ? (withAbsoluteModules({ [section]: value }, cwd) as Record<string, unknown>)[section]
      : isRef && key === 'module' && typeof value === 'string' && isPathLike(value)
        ? resolve(cwd, value)
        : value
  return E.right({ label: o.flag, value: rooted, sets: at })
}

const startsWith = (path: readonly PathSegment[], prefix: readonly PathSegment[]): boolean => prefix.every((seg, i) => path[i] === seg)

const has = (value: unknown, at: readonly PathSegment[]): boolean => {
  let u = value
  for (const seg of at) {
    if (typeof u !== 'object' || u === null || !(seg in u)) return false
    u = (u as Record<string | number, unknown>)[seg]
  }
  return true
}

/** Where an issue's value was given: the last layer that set its path (or, for a missing key, its parent), and the line. */
const whereOf = (layers: readonly Layer[], at: readonly PathSegment[]): { readonly layer: number; readonly offset: number; readonly text: string } | undefined => {
  for (let n = at.length; n >= 0; n--) {
    const prefix = at.slice(0, n)
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i] as Layer
      if (layer.sets !== undefined ? startsWith(prefix, layer.sets) || (n === at.length && startsWith(layer.sets, prefix)) : has(layer.value, prefix)) {
        const place = n === 0 ? undefined : layer.placeOf?.(prefix)
        return { layer: i, offset: place?.offset ?? 0, text: place === undefined ? layer.label : `${layer.label}:${place.line}` }
      }
    }
  }
  return undefined
}

/**
 * The merged, overridden and validated config of `--config` files and overrides, or one
 * `ConfigError` listing every mistake (`details.issues`: path, message, where).
 *
 * @example
 * const config = await loadRunConfig({ files: ['run.yaml'], overrides: [{ flag: '--set trainer.maxEpochs=5', path: 'trainer.maxEpochs', text: '5' }], cwd: process.cwd(), fs: effects.nodeFileSystem, importFile })
 */
export const loadRunConfig = async (sources: ConfigSources): Promise<E.Either<RxtrainError<'ConfigError'>, ResolvedRunConfig>> => {
  if (sources.files.length === 0) return E.left(rxtrainError('ConfigError', 'no config file given', 'name one with --config run.yaml (several merge in order).', { field: 'config' }))
  const files = await Promise.all(sources.files.map((f) => loadFile(f, sources)))
  const unreadable = files.filter(E.isLeft).map((f) => f.left)
  const [firstUnreadable] = unreadable
  if (firstUnreadable !== undefined)
    return E.left(unreadable.length === 1 ? firstUnreadable : rxtrainError('ConfigError', unreadable.map((e) => e.problem).join('\n'), unreadable.map((e) => e.remedy).join(' '), { files: unreadable.map((e) => e.details.file) }))
  const layers: Layer[] = files.filter(E.isRight).map((f) => f.right)
  let merged = layers.reduce<unknown>((config, layer) => mergeConfigs(config, layer.value), {})
  const issues: ConfigIssue[] = []
  for (const o of sources.overrides ?? []) {
    const layer = overrideLayer(o, sources.cwd)
    if (E.isLeft(layer)) {
      issues.push(layer.left)
      continue
    }
    const set = setConfigValue(merged, layer.right.sets, layer.right.value)
    if ('problem' in set) issues.push({ at: layer.right.sets, message: `cannot be set: ${set.problem}`, where: o.flag })
    else {
      merged = set.ok
      layers.push(layer.right)
    }
  }
  const resolved = resolveRunConfig(merged)
  // In the order they were given: file by file, in reading order, then the overrides.
  const placed = (E.isLeft(resolved) ? resolved.left : []).map((issue, n) => ({ issue, n, where: whereOf(layers, issue.at) }))
  const sorted = placed
    .sort((a, b) => (a.where?.layer ?? Infinity) - (b.where?.layer ?? Infinity) || (a.where?.offset ?? 0) - (b.where?.offset ?? 0) || a.n - b.n)
    .map(({ issue, where }) => (where === undefined ? issue : { ...issue, where: where.text }))
  const all = [...issues, ...sorted]
  const what = layers.length === 1 || sources.files.length === 1 ? `the config ${layers[0]?.label ?? ''}`.trim() : `the config (${sources.files.length} files merged)`
  if (all.length > 0 || E.isLeft(resolved)) return E.left(configIssuesError(what, all))
  return E.right(resolved.right)
}

/** The path of an issue, for tests and tools. */
export const issuePaths = (e: RxtrainError): readonly string[] =>
  ((e.details.issues as readonly { readonly path: string }[] | undefined) ?? []).map((i) => i.path)

