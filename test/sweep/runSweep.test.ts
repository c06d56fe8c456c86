import * as E from 'fp-ts/lib/Either.js'
import { basename } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { makeSweepCommand } from '../../src/cli/sweepCommand.js'
import { manualClock } from '../../src/effects/clock.js'
import { type MemoryFileSystem, memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import type { ChildHandle, ProcessExit, Processes } from '../../src/effects/processes.js'
import { manualSignals } from '../../src/effects/signals.js'
import { rxtrainError } from '../../src/errors/rxtrainError.js'
import { localScheduler } from '../../src/sweep/scheduler.js'

/*
 * The sweep's bookkeeping (which trials run, resume or start over; the table; interrupts) with a
 * fake process capability: a "trial" reads its trial.yaml and writes result.json (and, when
 * stopped, checkpoints/last.json) into its folder in a memory file system, as `rxtrain fit` does.
 */

type Behaviour = 'finish' | 'fail' | 'hang'

interface Spawned {
  readonly id: string
  readonly argv: readonly string[]
}

const text = async (fs: MemoryFileSystem, path: string): Promise<string> => {
  const r = await fs.readText(path)()
  if (E.isLeft(r)) throw r.left
  return r.right
}

const fakeProcesses = (fs: MemoryFileSystem, behaviour: (id: string) => Behaviour = () => 'finish') => {
  const spawned: Spawned[] = []
  const hanging = new Map<string, (signal: string) => void>()
  let active = 0
  let maxActive = 0
  let pid = 1000
  let started = 0
  const alive = new Set<number>()
  const processes: Processes = {
    isAlive: (p) => alive.has(p),
    spawn: ({ args }) => {
      const argv = args.slice(args.indexOf('fit'))
      const runDir = argv[argv.indexOf('--run-dir') + 1] as string
      const configFile = argv[argv.indexOf('--config') + 1] as string
      const id = basename(runDir)
      spawned.push({ id, argv })
      active++
      maxActive = Math.max(maxActive, active)
      const myPid = pid++
      alive.add(myPid)
      const startedAt = `start-${started++}`
      const write = (result: object) => fs.writeFile(`${runDir}/result.json`, JSON.stringify(result))()
      let kill: (signal: string) => void = () => undefined
      const exited = new Promise<ProcessExit>((resolve) => {
        void (async () => {
          await new Promise((r) => setTimeout(r, 1))
          const config = parse(await text(fs, configFile)) as { model: { args: { lr: number; hidden: number } } }
          const b = behaviour(id)
          if (b === 'hang') {
            kill = (signal) => {
              void (async () => {
                await fs.mkdir(`${runDir}/checkpoints`)()
                await fs.writeFile(`${runDir}/checkpoints/last.json`, '{"name":"epoch=0-step=3"}')()
                await write({ status: 'interrupted', reason: 'interrupted', startedAt, durationMs: 500 })
                resolve({ code: 130, signal: null })
              })()
              void signal
            }
            hanging.set(id, kill)
            return
          }
          if (b === 'fail') {
            await write({ status: 'failed', reason: 'StepError', startedAt, durationMs: 100 })
            resolve({ code: 1, signal: null })
            return
          }
          await write({ status: 'finished', reason: 'maxEpochs', metrics: { 'val/loss': config.model.args.lr * config.model.args.hidden }, startedAt, durationMs: 1500 })
          resolve({ code: 0, signal: null })
        })()
      }).finally(() => {
        active--
        alive.delete(myPid)
      })
      const handle: ChildHandle = { pid: myPid, exited, kill: (s) => kill(s) }
      return handle
    },
  }
  return { processes, spawned, hanging, maxActive: () => maxActive }
}

const RUN = {
  name: 'tiny',
  model: { module: './model.ts', export: 'mlp', args: { hidden: 8, lr: 0.1 } },
  data: { module: './data.ts', export: 'data', args: {} },
  trainer: { maxEpochs: 1 },
}
const SWEEP = {
  config: 'run.yaml',
  parallel: 2,
  monitor: 'val/loss',
  mode: 'min',
  set: { 'trainer.limitTrainBatches': 3 },
  parameters: { 'model.args.hidden': { values: [8, 16] }, 'model.args.lr': { values: [0.1, 0.01] } },
}

const project = (sweep: object = SWEEP) =>
  memoryFileSystem({ '/proj/exp/run.yaml': stringify(RUN), '/proj/exp/sweep.yaml': stringify(sweep), '/proj/exp/model.ts': '', '/proj/exp/data.ts': '' })

const sweep = async (fs: MemoryFileSystem, fake: ReturnType<typeof fakeProcesses>, argv: string[] = ['--config', 'exp/sweep.yaml'], signals = manualSignals()) => {
  const out: string[] = []
  const err: string[] = []
  const command = makeSweepCommand(() => ({
    fs,
    processes: fake.processes,
    scheduler: localScheduler(fake.processes, { command: 'node', args: ['cli.js'] }),
    signals,
    clock: manualClock(0),
    pid: 1,
    importFile: () => async () => E.left(rxtrainError('ConfigError', 'no imports in this test', 'none')),
  }))
  const code = await command.run(argv, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: '/proj' })
  return { code, out, err }
}

const DIR = '/proj/runs/tiny-sweep'

describe('rxtrain sweep (fake trials)', () => {
  it('runs every trial of the grid, at most `parallel` at once, and writes the table best first', async () => {
    const fs = project()
    const fake = fakeProcesses(fs)
    const { code, out } = await sweep(fs, fake)
    expect(code).toBe(0)
    expect(fake.spawned.map((s) => s.id)).toEqual(['trial_0', 'trial_1', 'trial_2', 'trial_3'])
    expect(fake.maxActive()).toBe(2)
    expect(fake.spawned[0]?.argv).toEqual(['fit', '--config', `${DIR}/trial_0/trial.yaml`, '--run-dir', `${DIR}/trial_0`])
    // The trial's config: the base with its values, module paths still naming the same files.
    const trial3 = parse(await text(fs, `${DIR}/trial_3/trial.yaml`)) as typeof RUN
    expect(trial3.model).toEqual({ module: '/proj/exp/model.ts', export: 'mlp', args: { hidden: 16, lr: 0.01 } })
    expect(trial3.data.module).toBe('/proj/exp/data.ts')
    expect(trial3.trainer).toMatchObject({ maxEpochs: 1, limitTrainBatches: 3 })
    // val/loss = lr * hidden: trial_1 (0.08) < trial_3 (0.16) < trial_0 (0.8) < trial_2 (1.6)
    expect((await text(fs, `${DIR}/results.csv`)).split('\n')).toEqual([
      'trial,model.args.hidden,model.args.lr,val/loss,status,duration_s',
      'trial_1,8,0.01,0.08,finished,1.5',
      'trial_3,16,0.01,0.16,finished,1.5',
      'trial_0,8,0.1,0.8,finished,1.5',
      'trial_2,16,0.1,1.6,finished,1.5',
      '',
    ])
    expect(await text(fs, `${DIR}/results.md`)).toContain('| trial_1 | 8 | 0.01 | 0.08 | finished | 1.5 s |')
    expect(out.join('\n')).toMatch(/trial\s+model\.args\.hidden\s+model\.args\.lr\s+val\/loss\s+status\s+duration\ntrial_1\s+8\s+0\.01\s+0\.08\s+finished\s+1\.5 s/)
    const state = JSON.parse(await text(fs, `${DIR}/sweep.json`)) as { trials: { id: string; values: object }[] }
    expect(state.trials.map((t) => [t.id, t.values])).toEqual([
      ['trial_0', { 'model.args.hidden': 8, 'model.args.lr': 0.1 }],
      ['trial_1', { 'model.args.hidden': 8, 'model.args.lr': 0.01 }],
      ['trial_2', { 'model.args.hidden': 16, 'model.args.lr': 0.1 }],
      ['trial_3', { 'model.args.hidden': 16, 'model.args.lr': 0.01 }],
    ])
    expect(await fs.exists(`${DIR}/running.json`)()).toBe(false)
  })

  it('on a re-run skips finished trials, resumes interrupted ones from last, starts failed ones over', async () => {
    const fs = project()
    const first = fakeProcesses(fs, (id) => (id === 'trial_1' ? 'fail' : 'finish'))
    expect((await sweep(fs, first)).code).toBe(1)
    // trial_2 was stopped midway: it has a last checkpoint and no result yet (killed before writing one).
    await fs.remove(`${DIR}/trial_2/result.json`)()
    await fs.mkdir(`${DIR}/trial_2/checkpoints`)()
    await fs.writeFile(`${DIR}/trial_2/checkpoints/last.json`, '{}')()
    await fs.writeFile(`${DIR}/trial_1/stale.txt`, 'from the failed attempt')()
    const finishedBefore = await text(fs, `${DIR}/trial_0/result.json`)

    const second = fakeProcesses(fs)
    const { code, out } = await sweep(fs, second)
    expect(code).toBe(0)
    expect(second.spawned.map((s) => [s.id, s.argv.includes('trainer.ckptPath=last')])).toEqual([
      ['trial_1', false],
      ['trial_2', true],
    ])
    expect(second.spawned[1]?.argv.slice(-2)).toEqual(['--set', 'trainer.ckptPath=last'])
    expect(await fs.exists(`${DIR}/trial_1/stale.txt`)()).toBe(false)
    expect(await text(fs, `${DIR}/trial_0/result.json`)).toBe(finishedBefore)
    expect(out[0]).toContain('2 finished already, 1 to resume, 1 to run')
    expect((await text(fs, `${DIR}/logs/trial_1.log`)).match(/=== trial_1: started/g)).toHaveLength(2)
  })

  it('on SIGTERM passes the signal to the running trials, starts no more, waits, and exits 130; a re-run resumes them', async () => {
    const fs = project()
    const signals = manualSignals()
    const fake = fakeProcesses(fs, () => 'hang')
    const pending = sweep(fs, fake, undefined, signals)
    while (fake.hanging.size < 2) await new Promise((r) => setTimeout(r, 2))
    const running = JSON.parse(await text(fs, `${DIR}/running.json`)) as Record<string, number>
    expect(Object.keys(running).sort()).toEqual(['sweep', 'trial_0', 'trial_1'])
    signals.raise('SIGTERM')
    const { code, out } = await pending
    expect(code).toBe(130)
    expect(fake.spawned.map((s) => s.id)).toEqual(['trial_0', 'trial_1'])
    expect(out.join('\n')).toContain('SIGTERM: stopping the running trials')
    expect(await text(fs, `${DIR}/results.csv`)).toContain('trial_0,8,0.1,,interrupted,0.5')
    expect(await text(fs, `${DIR}/results.csv`)).toContain('trial_2,16,0.1,,not run,')

    const again = fakeProcesses(fs)
    expect((await sweep(fs, again)).code).toBe(0)
    expect(again.spawned.map((s) => [s.id, s.argv.includes('trainer.ckptPath=last')])).toEqual([
      ['trial_0', true],
      ['trial_1', true],
      ['trial_2', false],
      ['trial_3', false],
    ])
  })

  it('refuses a folder holding another spec\'s trials, and says how to get a folder of its own', async () => {
    const fs = project()
    expect((await sweep(fs, fakeProcesses(fs))).code).toBe(0)
    await fs.writeFile('/proj/exp/sweep.yaml', stringify({ ...SWEEP, parameters: { ...SWEEP.parameters, 'model.args.hidden': { values: [8, 32] } } }))()
    const fake = fakeProcesses(fs)
    const { code, err } = await sweep(fs, fake)
    expect(code).toBe(2)
    expect(fake.spawned).toEqual([])
    expect(err.join('\n')).toContain('runs/tiny-sweep holds the trials of another sweep spec: trial_2 had model.args.hidden=16, now model.args.hidden=32')
    expect(err.join('\n')).toContain('--name')
    // A changed base config counts too.
    await fs.writeFile('/proj/exp/sweep.yaml', stringify(SWEEP))()
    await fs.writeFile('/proj/exp/run.yaml', stringify({ ...RUN, trainer: { maxEpochs: 5 } }))()
    expect((await sweep(fs, fakeProcesses(fs))).err.join('\n')).toContain('trial_0 has the same values but its base config changed')
    // Under another name it runs.
    expect((await sweep(fs, fakeProcesses(fs), ['--config', 'exp/sweep.yaml', '--name', 'tiny-sweep-2'])).code).toBe(0)
    expect(await fs.exists('/proj/runs/tiny-sweep-2/results.csv')()).toBe(true)
  })

  it('refuses to start while trials of a killed sweep still run', async () => {
    const fs = project()
    const fake = fakeProcesses(fs, () => 'hang')
    void sweep(fs, fake)
    while (fake.hanging.size < 2) await new Promise((r) => setTimeout(r, 2))
    // The first sweep "was killed" (its pid 1 is ours here); its trials 1000 and 1001 still run.
    const second = fakeProcesses(fs)
    const { code, err } = await sweep(fs, { ...second, processes: { ...second.processes, isAlive: fake.processes.isAlive } })
    expect(code).toBe(1)
    expect(err.join('\n')).toContain('runs/tiny-sweep is in use: trial_0 runs as process 1000, trial_1 runs as process 1001')
    expect(second.spawned).toEqual([])
    for (const stop of fake.hanging.values()) stop('SIGTERM')
  })

  it('reports a bad sweep file with every mistake and exit status 2; --parallel overrides the file', async () => {
    const fs = project({ config: 'run.yaml', paralel: 2, parameters: { 'model.args.lr': { distribution: 'uniform', min: 0, max: 1 } } })
    const { code, err } = await sweep(fs, fakeProcesses(fs))
    expect(code).toBe(2)
    expect(err.join('\n')).toContain('exp/sweep.yaml has 2 mistakes')
    const ok = project()
    const fake = fakeProcesses(ok)
    expect((await sweep(ok, fake, ['--config', 'exp/sweep.yaml', '--parallel', '1'])).code).toBe(0)
    expect(fake.maxActive()).toBe(1)
    // A swept value the run config rejects stops the sweep before any trial runs, naming the trial.
    const wrong = project({ ...SWEEP, parameters: { 'trainer.maxEpochs': { values: [1, 'three'] } } })
    const none = fakeProcesses(wrong)
    const bad = await sweep(wrong, none)
    expect(bad.code).toBe(2)
    expect(bad.err.join('\n')).toContain('the config of trial_1 is wrong')
    expect(bad.err.join('\n')).toContain('trainer.maxEpochs')
    expect(none.spawned).toEqual([])
    expect((await sweep(ok, fake, ['--config', 'exp/sweep.yaml', '--parallel', '0'])).code).toBe(2)
    expect((await sweep(ok, fake, [])).code).toBe(2)
  })
})
