/**
 * Issue 16 point 13: a folder that cannot be written says why, with the system's code and the
 * path. Node's recursive `mkdir` turns a read-only file system (`EROFS`) into `ENOENT` (it reports
 * the `stat` it makes after the failed `mkdir`; measured on a tmpfs mounted read-only, Node 20),
 * so a run whose output folder was read-only said "no such file or directory".
 *
 * A read-only file system needs privileges to make, and chmod does not stop root, so the tests
 * (1) give `fs.promises` the behaviour measured on a read-only mount, (2) use a real read-only
 * tmpfs in a private mount namespace where this user may make one (root with CAP_SYS_ADMIN), and
 * (3) a real chmod 0555 folder where the user is not root.
 */
import { spawnSync } from 'node:child_process'
import * as nodeFs from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import { fileURLToPath } from 'node:url'
import { lastValueFrom } from 'rxjs'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Backend } from '../../src/backends/backend.js'
import { nodeFileSystem as fs } from '../../src/effects/nodeFileSystem.js'
import { isRxtrainError, type RxtrainError } from '../../src/errors/rxtrainError.js'
import { checkpoint } from '../../src/hooks/checkpoint/checkpoint.js'
import { csvLogger } from '../../src/hooks/csvLogger.js'
import { fit } from '../../src/pipeline/fit.js'
import { quiet, useBackend } from '../support/backend.js'
import { lineModule, tinyData } from '../support/tiny.js'
import { fails } from './fileSystemContract.js'

const temps: string[] = []
const tempDir = (): string => {
  const dir = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), 'rxtrain-ro-'))
  temps.push(dir)
  return dir
}
let backend: Backend
beforeAll(async () => {
  backend = await useBackend('cpu')
})
afterEach(() => {
  vi.restoreAllMocks()
})
afterAll(() => {
  for (const d of temps) {
    nodeFs.chmodSync(d, 0o755)
    nodeFs.rmSync(d, { recursive: true, force: true })
  }
})

const errno = (code: string, syscall: string, path: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${code === 'EROFS' ? 'read-only file system' : 'no such file or directory'}, ${syscall} '${path}'`), { code, syscall, path })

/** Makes everything under `ro` (an existing, empty folder) behave as on a read-only mount. */
const readOnly = (ro: string): void => {
  const inside = (p: unknown): boolean => typeof p === 'string' && p.startsWith(`${ro}/`)
  const { mkdir, open, writeFile } = nodeFs.promises
  vi.spyOn(nodeFs.promises, 'mkdir').mockImplementation(((path: string, options?: { recursive?: boolean }) => {
    if (!inside(path)) return mkdir(path, options)
    // What Node does there: a plain mkdir fails with EROFS (ENOENT when the parent is missing:
    // nothing below `ro` exists), a recursive one with ENOENT.
    const parentMissing = nodePath.dirname(path) !== ro
    return Promise.reject(options?.recursive === true || parentMissing ? errno('ENOENT', 'mkdir', path) : errno('EROFS', 'mkdir', path))
  }) as typeof mkdir)
  vi.spyOn(nodeFs.promises, 'open').mockImplementation((...args: Parameters<typeof open>) =>
    inside(args[0]) ? Promise.reject(errno('EROFS', 'open', String(args[0]))) : open(...args))
  vi.spyOn(nodeFs.promises, 'writeFile').mockImplementation((...args: Parameters<typeof writeFile>) =>
    inside(args[0]) ? Promise.reject(errno('EROFS', 'open', String(args[0]))) : writeFile(...args))
}

const expectCode = (e: RxtrainError, code: string, path: string): void => {
  expect(e.tag).toBe('FileError')
  expect(e.problem).toContain(path)
  expect(e.problem).toContain(code)
  expect(e.problem).not.toContain('ENOENT')
  expect(e.details).toMatchObject({ code, path })
}

describe('a read-only folder', () => {
  it('nodeFileSystem.mkdir reports EROFS with the path, where Node says ENOENT', async () => {
    const ro = tempDir()
    readOnly(ro)
    const e = await fails(fs.mkdir(`${ro}/runs/version_0`))
    expectCode(e, 'EROFS', `${ro}/runs/version_0`)
    expect(e.problem).toContain(`mkdir '${ro}/runs'`) // the folder that could not be made
    expect(e.remedy).toContain('read-only')
    expectCode(await fails(fs.writeFileAtomic(`${ro}/last.json`, '{}')), 'EROFS', `${ro}/last.json`)
    expectCode(await fails(fs.writeFile(`${ro}/notes.txt`, 'x')), 'EROFS', `${ro}/notes.txt`)
  })

  it('a run whose folder is read-only fails with EROFS and the folder, from the checkpoint hook or the logger', async () => {
    const ro = tempDir()
    readOnly(ro)
    for (const hook of [checkpoint({ dir: `${ro}/ckpt` }), csvLogger({ dir: `${ro}/logs` })]) {
      const run = fit(lineModule(), tinyData(4, 1), { maxEpochs: 1, defaultRootDir: `${ro}/run` }, { backend, signals: quiet, fs }).pipe(hook)
      const error = await lastValueFrom(run).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isRxtrainError(error)).toBe(true)
      expect((error as RxtrainError).problem).toContain('EROFS')
      expect((error as RxtrainError).problem).toContain(ro)
      expect((error as RxtrainError).details).toMatchObject({ code: 'EROFS' })
    }
  })

  // Node's recursive mkdir never returns there (it makes the parent, which exists, and tries again).
  it.runIf(nodeFs.existsSync('/proc/self'))('does not hang where mkdir says ENOENT although the parent exists (/proc)', async () => {
    const e = await fails(fs.mkdir('/proc/rxtrain-not-here/a'))
    expect(e.details).toMatchObject({ code: 'ENOENT', path: '/proc/rxtrain-not-here/a' })
  }, 5_000)

  // A real read-only mount, in a mount namespace of a child process (nothing outside it changes).
  const canMount = process.platform === 'linux' && spawnSync('unshare', ['-m', 'true']).status === 0
  it.runIf(canMount)('on a real read-only tmpfs, mkdir and writes report EROFS', () => {
    const ro = tempDir()
    const script = nodePath.join(ro, '..', `${nodePath.basename(ro)}-probe.mts`)
    temps.push(script)
    const fsModule = nodePath.join(nodePath.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'effects', 'nodeFileSystem.ts')
    nodeFs.writeFileSync(
      script,
      `import { nodeFileSystem as fs } from ${JSON.stringify(fsModule)}
const out = []
for (const r of [await fs.mkdir(${JSON.stringify(`${ro}/runs/version_0`)})(), await fs.writeFileAtomic(${JSON.stringify(`${ro}/last.json`)}, '{}')()])
  out.push(r._tag === 'Left' ? r.left.details : 'written')
console.log(JSON.stringify(out))
`,
    )
    const mounted = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "$1" && exec "$2" --import tsx "$3"`, 'sh', ro, process.execPath, script], { encoding: 'utf8', timeout: 30_000 })
    expect(mounted.status, mounted.stderr).toBe(0)
    expect(JSON.parse(mounted.stdout)).toEqual([
      { operation: 'create directory', path: `${ro}/runs/version_0`, code: 'EROFS' },
      { operation: 'write', path: `${ro}/last.json`, code: 'EROFS' },
    ])
  })

  // chmod stops every user but root.
  it.runIf(process.getuid?.() !== 0)('a chmod 0555 folder reports EACCES with the path', async () => {
    const ro = tempDir()
    nodeFs.chmodSync(ro, 0o555)
    expectCode(await fails(fs.mkdir(`${ro}/runs/version_0`)), 'EACCES', `${ro}/runs/version_0`)
    expectCode(await fails(fs.writeFileAtomic(`${ro}/last.json`, '{}')), 'EACCES', `${ro}/last.json`)
  })
})

it('a missing output folder still says ENOENT', async () => {
  const root = tempDir()
  const e = await fails(fs.writeFile(`${root}/gone/notes.txt`, 'x'))
  expect(e.details).toMatchObject({ code: 'ENOENT', path: `${root}/gone/notes.txt` })
})
