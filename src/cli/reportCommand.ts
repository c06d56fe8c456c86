import * as nodePath from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { systemClock } from '../effects/clock.js'
import { nodeFileSystem } from '../effects/nodeFileSystem.js'
import { writeReport } from '../report/writeReport.js'
import { type CliIO, type Command, EXIT } from './command.js'

const HELP = `rxtrain report <run dir> [more run dirs] [--out DIR]

Turns run folders into a report you look at: report.html (self-contained: charts inlined, opens
without a network) and one PNG per chart beside it.

  <run dir>     a run folder, e.g. runs/mnist-mlp/version_0 (what rxtrain fit, or a fit with
                csvLogger() or jsonlLogger(), writes). Several folders overlay their curves,
                the legends naming the runs.
  --out DIR     where to write (default: <first run dir>/report)
  -h, --help    this text

Charts: every logged scalar against step and against epoch (train and validation together),
the learning rate (log scale), the gradient norm and the loss scale when logged, confusion
matrices logged as <stage>/confusion/<actual>/<predicted>, and lr_finder.json when present.
Tables: the run's backend, precision, versions and duration (from result.json), the final
metrics, the checkpoints with their scores, profiler.json when present, the resolved config.

Needs the optional packages vega, vega-lite and @resvg/resvg-js:
  npm install --save-dev vega vega-lite @resvg/resvg-js

Example:
  rxtrain report runs/mnist-mlp/version_0 runs/mnist-mlp/version_1 --out runs/compare`

interface ReportArgs {
  readonly runs: readonly string[]
  readonly out?: string
}

const parseArgs = (argv: readonly string[]): ReportArgs | { readonly help: true } | { readonly error: string } => {
  const runs: string[] = []
  let out: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '-h' || a === '--help') return { help: true }
    if (a === '--out' || a === '-o') {
      const v = argv[i + 1]
      if (v === undefined || v.startsWith('-')) return { error: `${a} needs a folder: --out DIR` }
      out = v
      i++
    } else if (a.startsWith('--out=')) out = a.slice('--out='.length)
    else if (a.startsWith('-') && a !== '-') return { error: `unknown option ${a} (rxtrain report takes run folders and --out DIR)` }
    else runs.push(a)
  }
  if (runs.length === 0) return { error: 'no run folder given: rxtrain report <run dir> [more run dirs] [--out DIR]' }
  return { runs, ...(out !== undefined && { out }) }
}

/** Shows a path as the user would type it: relative to the current folder when inside it. */
const shown = (cwd: string, path: string): string => {
  const rel = nodePath.relative(cwd, path)
  return rel !== '' && !rel.startsWith('..') && !nodePath.isAbsolute(rel) ? rel : path
}

/** `rxtrain report`: report.html and PNG charts of one or more run folders. */
export const reportCommand: Command = {
  name: 'report',
  summary: 'write report.html and PNG charts of one or more run folders',
  help: HELP,
  run: async (argv: readonly string[], io: CliIO) => {
    const args = parseArgs(argv)
    if ('help' in args) {
      io.out(HELP)
      return EXIT.ok
    }
    if ('error' in args) {
      io.err(`rxtrain report: ${args.error}`)
      io.err('Run rxtrain report --help for the options.')
      return EXIT.usage
    }
    const abs = (p: string) => nodePath.resolve(io.cwd, p)
    const written = await writeReport({
      runs: args.runs.map((r) => shown(io.cwd, abs(r))),
      ...(args.out !== undefined && { out: shown(io.cwd, abs(args.out)) }),
      fs: relativeTo(io.cwd),
      clock: systemClock,
    })()
    if (E.isLeft(written)) {
      io.err(`rxtrain report: ${written.left.problem}`)
      io.err(`  How to fix: ${written.left.remedy}`)
      return written.left.tag === 'FileError' || written.left.tag === 'ConfigError' ? EXIT.usage : EXIT.failed
    }
    const r = written.right
    io.out(`wrote ${r.html} with ${r.charts.length} chart${r.charts.length === 1 ? '' : 's'}${r.pngs.length > 0 ? ':' : ''}`)
    for (const png of r.pngs) io.out(`  ${png}`)
    for (const run of r.runs) for (const note of run.notes) io.err(`note (${run.label}): ${note}`)
    return EXIT.ok
  },
}

/** The node file system with relative paths taken from the command's folder (tests give their own cwd). */
const relativeTo = (cwd: string): typeof nodeFileSystem => {
  const at = (p: string) => nodePath.resolve(cwd, p)
  const fs = nodeFileSystem
  return {
    readFile: (p) => fs.readFile(at(p)),
    readText: (p) => fs.readText(at(p)),
    writeFile: (p, d) => fs.writeFile(at(p), d),
    appendFile: (p, d) => fs.appendFile(at(p), d),
    writeFileAtomic: (p, d) => fs.writeFileAtomic(at(p), d),
    mkdir: (p) => fs.mkdir(at(p)),
    createDir: (p) => fs.createDir(at(p)),
    rename: (a, b) => fs.rename(at(a), at(b)),
    remove: (p) => fs.remove(at(p)),
    exists: (p) => fs.exists(at(p)),
    list: (p) => fs.list(at(p)),
  }
}
