import { describe, expect, it } from 'vitest'
import { memoryFileSystem } from '../../src/effects/memoryFileSystem.js'
import { isRxtrainError } from '../../src/errors/rxtrainError.js'
import { resumeTarget } from '../../examples/shared/resume.js'

// The runs of a root: version_0 and version_2 hold checkpoints; version_3 failed before its first.
const runs = () =>
  memoryFileSystem({
    'runs/version_0/checkpoints/last.json': '{"checkpoint":"last-epoch=0-step=9"}',
    'runs/version_0/checkpoints/last-epoch=0-step=9/manifest.json': '{}',
    'runs/version_2/checkpoints/last.json': '{"checkpoint":"epoch=1-step=19"}',
    'runs/version_2/checkpoints/epoch=1-step=19/manifest.json': '{}',
    'runs/version_3/metrics.csv': 'step\n',
  })

const configError = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p
  } catch (e) {
    if (isRxtrainError(e) && e.tag === 'ConfigError') return e.message
    throw e
  }
  throw new Error('expected a ConfigError')
}

describe('--resume', () => {
  it('absent: a new run', async () => {
    expect(await resumeTarget(runs(), 'runs', undefined)).toBeUndefined()
  })

  it("last: the newest run that holds a last checkpoint (a failed run without one is passed over)", async () => {
    expect(await resumeTarget(runs(), 'runs', 'last')).toEqual({ runDir: 'runs/version_2', ckptPath: 'last' })
  })

  it('last with no checkpoint anywhere (or no root) is an error, not a fresh run', async () => {
    expect(await configError(resumeTarget(memoryFileSystem({ 'runs/version_0/metrics.csv': 'x' }), 'runs', 'last'))).toContain('no run under runs holds a last checkpoint')
    expect(await configError(resumeTarget(memoryFileSystem(), 'runs', 'last'))).toContain('no run under runs')
  })

  it('a run directory: its own last checkpoint', async () => {
    expect(await resumeTarget(runs(), 'runs', 'runs/version_0')).toEqual({ runDir: 'runs/version_0', ckptPath: 'last' })
  })

  it('a checkpoint folder: that checkpoint, in the run it belongs to', async () => {
    expect(await resumeTarget(runs(), 'runs', 'runs/version_2/checkpoints/epoch=1-step=19')).toEqual({ runDir: 'runs/version_2', ckptPath: 'runs/version_2/checkpoints/epoch=1-step=19' })
  })

  it('a directory without a checkpoint, or none at all, says which', async () => {
    expect(await configError(resumeTarget(runs(), 'runs', 'runs/version_3'))).toContain('neither a run directory with a last checkpoint nor a checkpoint folder')
    expect(await configError(resumeTarget(runs(), 'runs', 'runs/version_9'))).toContain('no such directory')
  })
})
