import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import * as t from 'io-ts'
import { parse as parseYaml } from 'yaml'
import { MANIFEST_FILE, parseManifest } from '../checkpoint/manifest.js'
import { messageOf, type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { FileSystem } from '../effects/fileSystem.js'
import { type ParsedMetrics, parseMetricsCsv, parseMetricsJsonl } from './metricsFiles.js'
import type { CheckpointEntry, LrFinderCurve, ProfilerTable, RunData, RunResult } from './runData.js'

/** The files that make a folder a run folder; a folder with none of them is refused. */
export const RUN_MARKERS = ['metrics.csv', 'metrics.jsonl', 'result.json', 'config.yaml', 'hparams.yaml', 'checkpoints'] as const

/** Where the reader looks for the optional parts (their writers may come later: the reader already knows the files). */
export const LR_FINDER_FILE = 'lr_finder.json'
export const PROFILER_FILE = 'profiler.json'

const NumberRecord = t.record(t.string, t.number)
/** result.json, leniently: a field of the wrong type is dropped (and noted), the rest still reports. */
const resultFields: Record<keyof RunResult, t.Mixed> = {
  status: t.string,
  reason: t.string,
  error: t.string,
  epoch: t.number,
  globalStep: t.number,
  metrics: NumberRecord,
  monitor: t.string,
  best: t.partial({ checkpoint: t.string, score: t.number }),
  test: NumberRecord,
  startedAt: t.string,
  endedAt: t.string,
  durationMs: t.number,
  backend: t.string,
  precision: t.string,
  versions: t.record(t.string, t.string),
}

const readResult = (text: string): { result?: RunResult; notes: string[] } => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { notes: ['result.json is not valid JSON (the run may have been killed while writing it): its fields are not shown.'] }
  }
  if (typeof json !== 'object' || json === null) return { notes: ['result.json is not a JSON object: its fields are not shown.'] }
  const out: Record<string, unknown> = {}
  const bad: string[] = []
  for (const [key, codec] of Object.entries(resultFields)) {
    const v = (json as Record<string, unknown>)[key]
    if (v === undefined) continue
    if (E.isRight(codec.decode(v))) out[key] = v
    else bad.push(key)
  }
  return { result: out as RunResult, notes: bad.length === 0 ? [] : [`result.json: ignored field(s) of an unexpected type: ${bad.join(', ')}.`] }
}

const readLrFinder = (text: string): LrFinderCurve | string => {
  try {
    const j = JSON.parse(text) as { lr?: unknown; loss?: unknown; suggestion?: unknown }
    if (!Array.isArray(j.lr) || !Array.isArray(j.loss) || j.lr.length !== j.loss.length) return `${LR_FINDER_FILE} needs "lr" and "loss" arrays of the same length`
    const points = j.lr.flatMap((lr, i) => (typeof lr === 'number' && typeof j.loss === 'object' && typeof (j.loss as unknown[])[i] === 'number' ? [{ lr, loss: (j.loss as number[])[i] as number }] : []))
    return { points, ...(typeof j.suggestion === 'number' && { suggestion: j.suggestion }) }
  } catch (e) {
    return `${LR_FINDER_FILE} is not valid JSON (${messageOf(e)})`
  }
}

const readProfiler = (text: string): ProfilerTable | string => {
  try {
    const j = JSON.parse(text) as unknown
    const rows = Array.isArray(j) ? j : (j as { rows?: unknown } | null)?.rows
    if (!Array.isArray(rows)) return `${PROFILER_FILE} needs an array of rows (or { "rows": [...] })`
    const clean = rows.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null)
    const columns = [...new Set(clean.flatMap((r) => Object.keys(r)))]
    const cells = clean.map((r) => Object.fromEntries(Object.entries(r).flatMap(([k, v]) => (typeof v === 'number' || typeof v === 'string' ? [[k, v]] : []))))
    return { columns, rows: cells }
  } catch (e) {
    return `${PROFILER_FILE} is not valid JSON (${messageOf(e)})`
  }
}

const readText = async (fs: FileSystem, path: string): Promise<string | undefined> => {
  const r = await fs.readText(path)()
  return E.isRight(r) ? r.right : undefined
}

const pointerTarget = async (fs: FileSystem, path: string): Promise<string | undefined> => {
  const text = await readText(fs, path)
  if (text === undefined) return undefined
  try {
    const c = (JSON.parse(text) as { checkpoint?: unknown }).checkpoint
    return typeof c === 'string' ? c : undefined
  } catch {
    return undefined
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)

/** The checkpoints in `<run>/checkpoints`: each folder's manifest (its epoch, step, monitored score), and which ones `best.json` and `last.json` name. */
const readCheckpoints = async (fs: FileSystem, dir: string, names: readonly string[]): Promise<CheckpointEntry[]> => {
  const best = await pointerTarget(fs, `${dir}/best.json`)
  const last = await pointerTarget(fs, `${dir}/last.json`)
  const out: CheckpointEntry[] = []
  for (const name of names) {
    if (name.endsWith('.json') || name.startsWith('.')) continue
    const flags = { name, dir: 'checkpoints', best: name === best, last: name === last }
    const text = await readText(fs, `${dir}/${name}/${MANIFEST_FILE}`)
    if (text === undefined) continue // not a checkpoint (or one still being written)
    const m = parseManifest(text, `${dir}/${name}/${MANIFEST_FILE}`)
    if (E.isLeft(m)) {
      out.push({ ...flags, problem: m.left.problem })
      continue
    }
    const meta = m.right.meta
    const epoch = num(meta.epoch) ?? m.right.loop?.epoch
    const step = num(meta.step) ?? m.right.loop?.globalStep
    const score = num(meta.score)
    out.push({
      ...flags,
      ...(epoch !== undefined && { epoch }),
      ...(step !== undefined && { step }),
      ...(typeof meta.monitor === 'string' && { monitor: meta.monitor }),
      ...(score !== undefined && { score }),
      createdAt: m.right.createdAt,
      precision: m.right.precision.name,
    })
  }
  return out.sort((a, b) => (a.step ?? 0) - (b.step ?? 0) || a.name.localeCompare(b.name))
}

const notARun = (dir: string, entries: readonly string[]): RxtrainError<'FileError'> => {
  const versions = entries.filter((n) => /^version_\d+$/.test(n)).sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)))
  const remedy =
    versions.length > 0
      ? `this folder holds runs (${versions.join(', ')}): give one of them, e.g. rxtrain report ${dir}/${versions.at(-1) as string}.`
      : 'give a run folder such as runs/<name>/version_N, as written by `rxtrain fit` or by a fit whose hooks include csvLogger() or jsonlLogger().'
  return rxtrainError('FileError', `${dir} is not a run folder: it has none of ${RUN_MARKERS.join(', ')}`, remedy, { path: dir })
}

/**
 * Reads a run folder: the metrics (metrics.jsonl when present, for its times, else metrics.csv),
 * hparams.yaml, config.yaml, result.json, the checkpoints, and the optional lr finder and
 * profiler files. Only a missing folder, or a folder with none of the run's files, is an error:
 * a part that is missing or unreadable becomes a note in the report.
 */
export const readRun =
  (fs: FileSystem, dir: string, label: string = dir): TE.TaskEither<RxtrainError, RunData> =>
  async () => {
    const listed = await fs.list(dir)()
    if (E.isLeft(listed)) {
      const missing = !(await fs.exists(dir)())
      return E.left(
        missing
          ? rxtrainError('FileError', `there is no folder ${dir}`, 'give the path of a run folder, e.g. runs/mnist-mlp/version_0 (relative to the current folder).', { path: dir })
          : rxtrainError('FileError', `${dir} is not a folder (or cannot be read): ${listed.left.problem}`, 'give the path of a run folder, e.g. runs/mnist-mlp/version_0.', { path: dir }),
      )
    }
    const entries = listed.right
    if (!RUN_MARKERS.some((m) => entries.includes(m))) return E.left(notARun(dir, entries))
    const notes: string[] = []

    let parsed: ParsedMetrics | undefined
    let metricsFile: RunData['metricsFile']
    for (const [file, parse] of [['metrics.jsonl', parseMetricsJsonl], ['metrics.csv', parseMetricsCsv]] as const) {
      if (parsed !== undefined || !entries.includes(file)) continue
      const text = await readText(fs, `${dir}/${file}`)
      if (text === undefined) notes.push(`${file} could not be read.`)
      else {
        parsed = parse(text)
        metricsFile = file
        if (parsed.skippedLines > 0) notes.push(`${file}: ${parsed.skippedLines} line(s) could not be read and were skipped (a run killed while writing leaves a torn last line).`)
      }
    }
    if (parsed === undefined) notes.push('no metrics.csv or metrics.jsonl: no curves (add csvLogger to the hooks to log them).')

    let hparams: Record<string, unknown> | undefined
    const hparamsText = entries.includes('hparams.yaml') ? await readText(fs, `${dir}/hparams.yaml`) : undefined
    if (hparamsText !== undefined) {
      try {
        const h = parseYaml(hparamsText) as unknown
        if (typeof h === 'object' && h !== null && !Array.isArray(h)) hparams = h as Record<string, unknown>
      } catch (e) {
        notes.push(`hparams.yaml is not valid YAML (${messageOf(e)}).`)
      }
    }
    const configText = entries.includes('config.yaml') ? await readText(fs, `${dir}/config.yaml`) : undefined
    const resultText = entries.includes('result.json') ? await readText(fs, `${dir}/result.json`) : undefined
    const result: { result?: RunResult; notes: string[] } = resultText === undefined ? { notes: [] } : readResult(resultText)
    notes.push(...result.notes)
    if (resultText === undefined) notes.push('no result.json (a run started by `rxtrain fit` writes one): backend, versions and duration are unknown unless logged elsewhere.')

    let checkpoints: CheckpointEntry[] = []
    if (entries.includes('checkpoints')) {
      const names = await fs.list(`${dir}/checkpoints`)()
      if (E.isRight(names)) checkpoints = await readCheckpoints(fs, `${dir}/checkpoints`, names.right)
    }

    let lrFinder: LrFinderCurve | undefined
    if (entries.includes(LR_FINDER_FILE)) {
      const r = readLrFinder((await readText(fs, `${dir}/${LR_FINDER_FILE}`)) ?? '')
      if (typeof r === 'string') notes.push(r)
      else lrFinder = r
    }
    let profiler: ProfilerTable | undefined
    if (entries.includes(PROFILER_FILE)) {
      const r = readProfiler((await readText(fs, `${dir}/${PROFILER_FILE}`)) ?? '')
      if (typeof r === 'string') notes.push(r)
      else profiler = r
    }

    const span = parsed?.timeSpan
    return E.right({
      dir,
      label,
      ...(metricsFile !== undefined && { metricsFile }),
      points: parsed?.points ?? [],
      ...(span !== undefined && { loggedSpanMs: span[1] - span[0] }),
      ...(hparams !== undefined && { hparams }),
      ...(configText !== undefined && { configText }),
      ...(result.result !== undefined && { result: result.result }),
      checkpoints,
      ...(lrFinder !== undefined && { lrFinder }),
      ...(profiler !== undefined && { profiler }),
      notes,
    })
  }

/**
 * Names for several runs in legends: the shortest trailing part of each path that tells them
 * apart (`version_0`, `version_1`; or `mnist-mlp/version_0`, `mnist-cnn/version_0`).
 */
export const runLabels = (dirs: readonly string[]): string[] => {
  const parts = dirs.map((d) => d.split(/[\\/]+/).filter((p) => p !== '' && p !== '.'))
  const longest = Math.max(1, ...parts.map((p) => p.length))
  for (let n = 1; n <= longest; n++) {
    const labels = parts.map((p) => p.slice(-n).join('/') || '.')
    if (new Set(labels).size === labels.length) return labels
  }
  return dirs.map((d, i) => `${d} (#${i + 1})`)
}
