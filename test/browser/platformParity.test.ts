/**
 * Every platform module (`#platform/<name>.js`) exists for Node and for browsers, and each name
 * that code above the platform layer takes from it is exported by both: that code imports one
 * name and gets either. (A platform file may export more, for its own tests.)
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const names = (dir: string): string[] => readdirSync(`${root}/src/effects/platform/${dir}`).filter((f) => f.endsWith('.ts')).sort()

/** The names a module exports (types erased), as esbuild reads them. */
const exportsOf = async (file: string): Promise<string[]> => {
  const r = await esbuild.build({ absWorkingDir: root, entryPoints: [file], bundle: false, format: 'esm', write: false, metafile: true, logLevel: 'silent', outdir: '/tmp/rxtrain-parity' })
  return [...(Object.values(r.metafile.outputs).find((o) => o.entryPoint !== undefined)?.exports ?? [])].sort()
}

/** `#platform/<module>.js` -> the value names src/ (outside src/effects/platform) imports or re-exports from it. */
const usedNames = (): Map<string, Set<string>> => {
  const used = new Map<string, Set<string>>()
  const files = readdirSync(`${root}/src`, { recursive: true }).map(String).filter((f) => f.endsWith('.ts') && !f.startsWith('effects/platform/'))
  for (const f of files) {
    const text = readFileSync(`${root}/src/${f}`, 'utf8')
    for (const m of text.matchAll(/(?:import|export)\s+(type\s+)?\{([^}]*)\}\s+from\s+'#platform\/([\w-]+)\.js'/g)) {
      if (m[1] !== undefined) continue
      const set = used.get(`${m[3]}.ts`) ?? new Set<string>()
      for (const spec of (m[2] ?? '').split(',')) {
        const trimmed = spec.trim()
        if (trimmed === '' || trimmed.startsWith('type ')) continue
        set.add(trimmed.split(/\s+as\s+/)[0] ?? trimmed)
      }
      used.set(`${m[3]}.ts`, set)
    }
  }
  return used
}

describe('platform modules', () => {
  it('come in pairs: src/effects/platform/node/X.ts and src/effects/platform/browser/X.ts, and src/ uses each', () => {
    expect(names('browser')).toEqual(names('node'))
    expect(names('node').length).toBeGreaterThanOrEqual(12)
    expect([...usedNames().keys()].sort()).toEqual(names('node'))
  })

  it('export, on both platforms, every name src/ takes from them', async () => {
    for (const [file, used] of usedNames()) {
      const [node, browser] = await Promise.all([exportsOf(`src/effects/platform/node/${file}`), exportsOf(`src/effects/platform/browser/${file}`)])
      expect({ file, missingInNode: [...used].filter((n) => !node.includes(n)), missingInBrowser: [...used].filter((n) => !browser.includes(n)) }).toEqual({ file, missingInNode: [], missingInBrowser: [] })
      expect(used.size).toBeGreaterThan(0)
    }
  }, 60_000)
})
