import * as E from 'fp-ts/lib/Either.js'
import type { DataModule } from '../data/dataModule.js'
import type { ImportFile } from '../effects/importFile.js'
import { messageOf, type RxtrainError, rxtrainError, isRxtrainError } from '../errors/rxtrainError.js'
import type { Module } from '../pipeline/module.js'
import { nearestName } from '../pipeline/nearestName.js'
import type { Params } from '../tree/tree.js'
import type { ModuleRef } from './runConfig.js'

/*
 * The model and the data a config names: the module imported, the export picked, and, when the
 * export is a function, called with the config's `args` (LightningCLI's class_path and
 * init_args). Every mistake is a ConfigError that names the config field.
 */

/** A module of any parameter and batch types, as a config loads it. */
export type AnyModule = Module<Params, Params, unknown, unknown>
/** A data module of any batch type, as a config loads it. */
export type AnyDataModule = DataModule<unknown, unknown>

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null

const isModule = (u: unknown): u is AnyModule => isObject(u) && typeof u.init === 'function' && typeof u.trainingStep === 'function' && u.optimizer !== undefined
const isSource = (u: unknown): boolean => isObject(u) && typeof u.open === 'function'
const isDataModule = (u: unknown): u is AnyDataModule =>
  isObject(u) && ['train', 'val', 'test', 'predict'].some((k) => u[k] !== undefined) && ['train', 'val', 'test', 'predict'].every((k) => u[k] === undefined || isSource(u[k]))

const refError = (field: string, problem: string, remedy: string): RxtrainError<'ConfigError'> => rxtrainError('ConfigError', `${field}: ${problem}`, remedy, { field })

/** The export a ref names, or a ConfigError with a did-you-mean over the module's exports. */
const exportOf = async (field: string, ref: ModuleRef, importFile: ImportFile): Promise<E.Either<RxtrainError<'ConfigError'>, unknown>> => {
  const loaded = await importFile(ref.module)()
  if (E.isLeft(loaded)) return E.left(refError(`${field}.module`, loaded.left.problem, loaded.left.remedy))
  const names = Object.keys(loaded.right)
  if (!(ref.export in loaded.right) || loaded.right[ref.export] === undefined) {
    const near = nearestName(ref.export, names)
    return E.left(
      refError(
        `${field}.export`,
        `${ref.module} has no export '${ref.export}'`,
        near !== undefined ? `did you mean '${near}'?` : `its exports: ${names.length > 0 ? names.join(', ') : 'none'}.`,
      ),
    )
  }
  return E.right(loaded.right[ref.export])
}

/** The value a ref gives: the export itself, or what it returns for `args` when it is a function. */
const valueOf = async <A>(field: string, ref: ModuleRef, importFile: ImportFile, is: (u: unknown) => u is A, what: string, example: string): Promise<E.Either<RxtrainError, A>> => {
  const exported = await exportOf(field, ref, importFile)
  if (E.isLeft(exported)) return exported
  const x = exported.right
  if (typeof x !== 'function') {
    if (ref.args !== undefined) return E.left(refError(`${field}.args`, `'${ref.export}' is ${what} itself, not a function, so it takes no args`, `remove ${field}.args, or export a function of the args that returns ${what}.`))
    return is(x) ? E.right(x) : E.left(refError(`${field}.export`, `'${ref.export}' of ${ref.module} is neither ${what} nor a function returning one`, example))
  }
  let made: unknown
  try {
    made = await (x as (args: Readonly<Record<string, unknown>>) => unknown)(ref.args ?? {})
  } catch (e) {
    // A function's own failure (a data set that is not there) keeps its tag: it is not the config's fault.
    if (isRxtrainError(e)) return E.left(e)
    return E.left(rxtrainError('ConfigError', `${field}: ${ref.export}(${JSON.stringify(ref.args ?? {})}) threw: ${messageOf(e).split('\n')[0]}`, `check ${field}.args against what ${ref.export} expects.`, { field: `${field}.args` }))
  }
  return is(made) ? E.right(made) : E.left(refError(`${field}.export`, `${ref.export}(args) of ${ref.module} did not return ${what}`, example))
}

/**
 * The module a config's `model` names.
 *
 * @example
 * const module = await loadModel({ module: '/abs/model.ts', export: 'classifier', args: { hidden: 128 } }, importFile)
 */
export const loadModel = (ref: ModuleRef, importFile: ImportFile): Promise<E.Either<RxtrainError, AnyModule>> =>
  valueOf('model', ref, importFile, isModule, 'a Module', 'export the result of defineModule({ init, trainingStep, optimizer, ... }), or a function of the args that returns one.')

/**
 * The data module a config's `data` names (a function may return a promise of one).
 *
 * @example
 * const dataModule = await loadData({ module: '/abs/data.ts', export: 'mnist', args: { batchSize: 128 } }, importFile)
 */
export const loadData = (ref: ModuleRef, importFile: ImportFile): Promise<E.Either<RxtrainError, AnyDataModule>> =>
  valueOf('data', ref, importFile, isDataModule, 'a DataModule', 'export { train, val, test } sources (e.g. data.fromArrays(...)), or a function of the args that returns them.')
