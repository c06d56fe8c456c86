import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { FileSystem } from '../effects/fileSystem.js'
import type { RxtrainError } from '../errors/rxtrainError.js'
import type { Model, Shape } from '../nn/layer.js'
import type { SequentialLayer } from '../nn/sequential.js'
import { type LayersModelOptions, type WeightSpec, layersModelArtifacts, layersModelJson } from './layersModel.js'

/** The file names of an exported LayersModel, as `tensorflowjs_converter` names a one-shard model. */
export const MODEL_JSON_FILE = 'model.json'
export const WEIGHTS_FILE = 'group1-shard1of1.bin'

/**
 * What `exportLayersModel` wrote.
 *
 * @example
 * const net = nn.sequential(nn.dense({ units: 128, activation: 'relu' }), nn.dense({ units: 10 }))
 * const written = await exportLayersModel(effects.nodeFileSystem, 'runs/mnist/tfjs', net, [784], model)()
 * if (E.isRight(written)) {
 *   const exported: ExportedLayersModel = written.right
 *   console.log(exported.modelPath, exported.weightSpecs.length, exported.weightBytes) // runs/mnist/tfjs/model.json 4 407080
 * }
 */
export interface ExportedLayersModel {
  /** `dir/model.json`: load it with `tf.loadLayersModel('file://…/model.json')` (tfjs-node) or over HTTP. */
  readonly modelPath: string
  /** `dir/group1-shard1of1.bin`: every weight's values (float32, or float16 codes with `weightDtype: 'float16'`), in manifest order. */
  readonly weightsPath: string
  readonly weightSpecs: readonly WeightSpec[]
  readonly weightBytes: number
}

/**
 * Exports a trained `sequential` to the TensorFlow.js LayersModel format: writes
 * `dir/group1-shard1of1.bin` and then `dir/model.json` (each atomically, the manifest last, so a
 * reader never finds a model.json whose weights are missing), creating `dir` if needed.
 *
 * `inputShape` is the feature shape the network was initialised with (batch excluded) and
 * `model` its `{ params, state }` (e.g. from `trainedModel()`); the tensors are read, never
 * disposed, and must stay alive until the task finishes. Fails with a `ConfigError` naming the
 * layer when TensorFlow.js layers cannot express it, a `StructureError` when a variable is
 * missing or misshapen, or a `FileError`.
 *
 * Batch-norm layers export their running statistics as Keras' `moving_mean`/`moving_variance`
 * and their momentum as Keras' (1 − rxtrain's); inference matches rxtrain's
 * `apply(model, x, { training: false })`.
 *
 * @example
 * const net = nn.sequential(nn.flatten(), nn.dense({ units: 128, activation: 'relu' }), nn.dense({ units: 10 }))
 * await exportLayersModel(effects.nodeFileSystem, 'runs/mnist/tfjs', net, [28, 28, 1], model)()
 * // in the browser: const m = await tf.loadLayersModel('/tfjs/model.json'); m.predict(x)
 */
export const exportLayersModel = (
  fs: FileSystem,
  dir: string,
  net: SequentialLayer,
  inputShape: Shape,
  model: Model,
  options: LayersModelOptions = {},
): TE.TaskEither<RxtrainError, ExportedLayersModel> => {
  const modelPath = `${dir}/${MODEL_JSON_FILE}`
  const weightsPath = `${dir}/${WEIGHTS_FILE}`
  return pipe(
    layersModelArtifacts(net, inputShape, model, options),
    TE.chainW((artifacts) =>
      pipe(
        fs.mkdir(dir),
        TE.chainW(() => fs.writeFileAtomic(weightsPath, new Uint8Array(artifacts.weightData))),
        TE.chainW(() => fs.writeFileAtomic(modelPath, `${JSON.stringify(layersModelJson(artifacts, [WEIGHTS_FILE]), null, 2)}\n`)),
        TE.map(
          (): ExportedLayersModel => ({ modelPath, weightsPath, weightSpecs: artifacts.weightSpecs, weightBytes: artifacts.weightData.byteLength }),
        ),
      ),
    ),
  )
}
