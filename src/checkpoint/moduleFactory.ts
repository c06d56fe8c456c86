import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import * as t from 'io-ts'
import type { FileSystem } from '../effects/fileSystem.js'
import { liveEnv } from '../effects/env.js'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import type { Model } from '../nn/layer.js'
import { key } from '../random/key.js'
import type { Key } from '../random/key.js'
import { disposeTree, type Params, specOf } from '../tree/tree.js'
import { MANIFEST_FILE } from './manifest.js'
import { otherModel } from './otherModel.js'
import { type CheckpointReadError, disposeCheckpoint, type LoadedCheckpoint, loadCheckpoint } from './readCheckpoint.js'

/** What a factory builds: a module (anything with `init`; `hparams` is set by the factory). */
interface Buildable {
  init(key: Key): Model<Params, Params>
  readonly hparams?: Readonly<Record<string, unknown>>
}

/** What `loadFromCheckpoint` fails with. */
export type LoadModuleError = CheckpointReadError | RxtrainError<'StructureError'>

/** A module rebuilt from a checkpoint: built with the saved hyperparameters, with the trained variables (yours to dispose). */
export interface LoadedModule<A, M extends Buildable> {
  readonly module: M
  readonly hparams: A
  /** Typed as the module's own variables (what its `init` returns), so `test(module, model, ...)` type-checks. */
  readonly model: ReturnType<M['init']>
  /** The checkpoint directory it was read from. */
  readonly path: string
}

/** A function from hyperparameters to a module that remembers them, and can rebuild one from a checkpoint. */
export interface ModuleFactory<A, O, M extends Buildable> {
  /** The module built with `hparams` (checked by the codec: a typed call, or JSON from a config file). */
  (hparams: A): M
  readonly codec: t.Type<A, O, unknown>
  /**
   * Lightning's `load_from_checkpoint`: the module built with the hyperparameters saved in the
   * checkpoint (decoded by the codec), and its trained parameters, ready for `test` or `predict`.
   * `hparams` overrides saved values (or gives them, for a checkpoint that holds none).
   */
  loadFromCheckpoint(path: string, options?: { readonly fs?: FileSystem; readonly hparams?: Partial<A> }): TE.TaskEither<LoadModuleError, LoadedModule<A, M>>
}

/** `a.b: expected number, got "wide"` for each field that did not decode (intersections' indices are no fields). */
const describeErrors = (errors: t.Errors): string =>
  errors
    .slice(0, 5)
    .map((e) => {
      const field = e.context.filter((c, i, all) => c.key !== '' && !(all[i - 1]?.type instanceof t.IntersectionType)).map((c) => c.key).join('.') || '(the whole value)'
      return `${field}: expected ${e.context.at(-1)?.type.name ?? 'another value'}, got ${JSON.stringify(e.value) ?? 'undefined'}`
    })
    .join('; ')

/**
 * Hyperparameters travel with the model (Lightning's `save_hyperparameters` and
 * `load_from_checkpoint`). `defineModuleFactory(codec, build)` is `build`, a function from
 * hyperparameters to a module, whose modules also carry their hyperparameters (`module.hparams`,
 * encoded by the codec), so every checkpoint, `hparams.yaml` (under `model`) and TensorBoard's
 * HParams tab (`model.*`) hold them; and `factory.loadFromCheckpoint(dir)` rebuilds the module
 * from a checkpoint alone. A factory rather than a `hparams` field of `defineModule`: a module
 * built from values cannot be rebuilt with other ones, while a factory types both directions
 * from one codec, and a config file's `model.export` can name it (its `args` are decoded).
 *
 * @example
 * const MlpHparams = t.type({ hidden: t.number, lr: t.number })
 * const mlpOf = defineModuleFactory(MlpHparams, ({ hidden, lr }) => {
 *   const net = nn.sequential(nn.dense({ units: hidden, activation: 'relu' }), nn.dense({ units: 10 }))
 *   return defineModule({
 *     init: (key) => net.init(key, [784]),
 *     trainingStep: (m, { x, y }: Batch, ctx) => ({ loss: nn.softmaxCrossEntropy(net.apply(m, x, ctx).y, y) }),
 *     optimizer: optim.adam({ lr }),
 *   })
 * })
 * fit(mlpOf({ hidden: 128, lr: 1e-3 }), { train }, { maxEpochs: 2, defaultRootDir: 'runs/mlp' }).pipe(checkpoint()).subscribe()
 * // later, from the checkpoint alone:
 * const loaded = await mlpOf.loadFromCheckpoint('runs/mlp/checkpoints/last')()
 * if (E.isLeft(loaded)) throw loaded.left // e.g. a CheckpointError naming a field that does not decode
 * console.log(loaded.right.hparams.hidden) // 128
 * const scores = await lastValueFrom(validate(loaded.right.module, loaded.right.model, { val }).pipe(evalMetrics()))
 */
export const defineModuleFactory = <A, O extends Readonly<Record<string, unknown>>, M extends Buildable>(
  codec: t.Type<A, O, unknown>,
  build: (hparams: A) => M,
): ModuleFactory<A, O, M> => {
  // A copy of the module with its hyperparameters (its prototype kept, should it be a class instance).
  const withHparams = (values: A): M => {
    const module = build(values)
    return Object.assign(Object.create(Object.getPrototypeOf(module) as object | null) as M, module, { hparams: codec.encode(values) })
  }
  const make = (hparams: A): M => {
    if (codec.is(hparams)) return withHparams(hparams)
    // Untyped callers (a config file's `model.args`) hand over the codec's JSON form.
    const decoded = codec.decode(hparams)
    if (E.isLeft(decoded))
      throw rxtrainError('ConfigError', `the hyperparameters do not decode with ${codec.name}: ${describeErrors(decoded.left)}`, `give every field the type ${codec.name} declares.`, {
        field: 'hparams',
      })
    return withHparams(decoded.right)
  }
  /**
   * The saved values (JSON), with `override`'s fields over them: decoded together (a saved field
   * that no longer decodes can be overridden), or, for codecs whose values are not their JSON
   * form, the saved ones decoded first and then overridden.
   */
  const valuesOf = (saved: Readonly<Record<string, unknown>> | undefined, override: Partial<A> | undefined): E.Either<t.Errors, A> => {
    const merged: unknown = { ...saved, ...override }
    if (override !== undefined && codec.is(merged)) return E.right(merged)
    const decoded = codec.decode(merged)
    if (E.isRight(decoded) || saved === undefined || override === undefined) return decoded
    const first = codec.decode(saved)
    if (E.isLeft(first)) return decoded
    const overridden: unknown = { ...first.right, ...override }
    return codec.is(overridden) ? E.right(overridden) : decoded
  }
  const fromCheckpoint = (loaded: LoadedCheckpoint, override: Partial<A> | undefined): E.Either<LoadModuleError, LoadedModule<A, M>> => {
    const file = `${loaded.path}/${MANIFEST_FILE}`
    const saved = loaded.manifest.hparams
    if (saved === undefined && override === undefined)
      return E.left(
        rxtrainError(
          'CheckpointError',
          `${loaded.path} holds no hyperparameters (its module was not built by a factory, or an rxtrain before them wrote it)`,
          'pass them: factory.loadFromCheckpoint(path, { hparams }), or build the module yourself and load its weights with loadParams(path, { like }).',
          { file },
        ),
      )
    const values = valuesOf(saved, override)
    if (E.isLeft(values))
      return E.left(
        rxtrainError(
          'CheckpointError',
          `the hyperparameters ${saved === undefined ? 'given' : `saved in ${file}`} do not decode with ${codec.name}: ${describeErrors(values.left)}`,
          'load it with the factory (and codec) that wrote it, or give the fields that changed: factory.loadFromCheckpoint(path, { hparams: { ... } }).',
          { file },
        ),
      )
    const module = withHparams(values.right)
    // The module's parameters must be the checkpoint's (a factory of another model, or changed since).
    const fresh = module.init(key(0))
    const expected = specOf(fresh.params)
    disposeTree(fresh)
    const other = otherModel(loaded.path, expected, loaded.manifest.paramSpec, 'load it with the factory that wrote it, with the same hyperparameters.')
    if (other !== undefined) return E.left(other)
    return E.right({ module, hparams: values.right, model: { params: loaded.state.params, state: loaded.state.state } as ReturnType<M['init']>, path: loaded.path })
  }
  const loadFromCheckpoint: ModuleFactory<A, O, M>['loadFromCheckpoint'] = (path, options = {}) =>
    pipe(
      loadCheckpoint(options.fs ?? liveEnv.fs, path),
      TE.chainEitherKW((loaded) => {
        const result = fromCheckpoint(loaded, options.hparams)
        // Only the model's variables are handed over; on failure, nothing is.
        if (E.isLeft(result)) disposeCheckpoint(loaded)
        else disposeTree([loaded.state.optState, loaded.state.gradAccumulator])
        return result
      }),
    )
  return Object.assign(make, { codec, loadFromCheckpoint })
}
