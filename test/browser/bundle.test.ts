/**
 * The browser build: `src/index.ts` bundled for a browser (esbuild, platform 'browser', with
 * tsconfig.browser.json mapping `#platform/*` to the browser's implementations, as the package's
 * `imports` conditions do for the published `dist`) must reach no Node built-in and no Node-only
 * package. (test/package/consumer.test.ts bundles the packed package the same way, as a user would.)
 */
import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const NODE_ONLY_PACKAGES = ['cli-progress', 'webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'tsx', '@resvg/resvg-js']
const builtins = new Set(builtinModules)

/** Every import the bundle resolves, by what was asked for and from where. */
const bundleForBrowser = async (entry: string, tsconfig: string) => {
  const asked: { path: string; importer: string }[] = []
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    tsconfig,
    plugins: [{ name: 'record', setup: (b) => b.onResolve({ filter: /.*/ }, (a) => (asked.push({ path: a.path, importer: a.importer.replace(root, '') }), undefined)) }],
  })
  return { asked, inputs: Object.keys(result.metafile.inputs), text: result.outputFiles[0]?.text ?? '' }
}

const isNodeBuiltin = (path: string): boolean => path.startsWith('node:') || builtins.has(path.split('/')[0] ?? '')
const isNodeOnlyPackage = (path: string): boolean => NODE_ONLY_PACKAGES.some((p) => path === p || path.startsWith(`${p}/`))

describe('the browser bundle of src/index.ts', () => {
  it('reaches no Node built-in and no Node-only package, and takes every platform module from src/effects/platform/browser', async () => {
    const { asked, inputs, text } = await bundleForBrowser('src/index.ts', 'tsconfig.browser.json')
    // rxtrain's own code asks for no built-in and no Node-only package (tfjs's packages ask for some,
    // which their package.json's `browser` field turns off: esbuild would fail the build on any other).
    expect(asked.filter((a) => a.importer.startsWith('src/') && (isNodeBuiltin(a.path) || isNodeOnlyPackage(a.path)))).toEqual([])
    expect(inputs.filter((f) => NODE_ONLY_PACKAGES.some((p) => f.startsWith(`node_modules/${p}/`)))).toEqual([])
    expect(inputs.filter((f) => f.startsWith('src/effects/platform/node/'))).toEqual([])
    expect(inputs.filter((f) => f.startsWith('src/effects/platform/browser/')).length).toBeGreaterThanOrEqual(10)
    expect(inputs).not.toContain('src/cli/main.ts')
    expect(text.length).toBeGreaterThan(100_000)
  }, 60_000)

  it('fails the check when a Node built-in is reached (the check can fail)', async () => {
    // The Node tsconfig maps `#platform/*` to Node's implementations: the same entry then reaches node:fs and friends.
    await expect(bundleForBrowser('src/index.ts', 'tsconfig.json')).rejects.toThrow(/node:/)
  }, 60_000)
})
