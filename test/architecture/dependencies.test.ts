import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cruise, type IReporterOutput } from 'dependency-cruiser'
import { describe, expect, it } from 'vitest'

// The layers and the no-cycle rule live in .dependency-cruiser.cjs (also what `npx depcruise src` reads).
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as { forbidden: unknown[]; options: Record<string, unknown> }

const violationsOf = async (): Promise<string[]> => {
  const cwd = process.cwd()
  process.chdir(root)
  try {
    const result: IReporterOutput = await cruise(['src'], { ...config.options, validate: true, ruleSet: { forbidden: config.forbidden } } as never)
    const output = result.output
    if (typeof output === 'string') throw new Error(output)
    return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}${v.cycle === undefined ? '' : ` (cycle: ${v.cycle.map((c) => c.name).join(' -> ')})`}`)
  } finally {
    process.chdir(cwd)
  }
}

describe('the layers of src/', () => {
  it('have no import cycle (type-only imports included) and no import against the layering', async () => {
    expect(await violationsOf()).toEqual([])
  }, 60_000)

  it('the check sees every module', async () => {
    const cwd = process.cwd()
    process.chdir(root)
    try {
      const result = await cruise(['src'], { ...config.options } as never)
      const modules = typeof result.output === 'string' ? [] : result.output.modules.filter((m) => m.source.startsWith('src/'))
      expect(modules.length).toBeGreaterThan(150)
      expect(modules.some((m) => m.source === 'src/pipeline/fitProgram.ts')).toBe(true)
    } finally {
      process.chdir(cwd)
    }
  }, 60_000)
})
