import { sha256 } from '#platform/sha256.js'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type RxtrainError, rxtrainError } from '../errors/rxtrainError.js'
import { LoopStateCodec } from '../core/loopState.js'
import { fromJson, type Json } from './jsonValues.js'

/** The format written by this version; readers refuse other versions with a clear error. */
export const CHECKPOINT_FORMAT = 'rxtrain.checkpoint'
/** Version 2 may store float tensors as 16-bit codes (`storage`); version 1 files read as before. */
export const CHECKPOINT_VERSION = 2
const READABLE_VERSIONS: readonly unknown[] = [1, 2]
export const MANIFEST_FILE = 'manifest.json'
export const TENSORS_FILE = 'tensors.bin'

const TensorEntryCodec = t.intersection([
  t.type({
    shape: t.array(t.number),
    dtype: t.keyof({ float32: null, int32: null, bool: null }),
    offset: t.number,
    byteLength: t.number,
  }),
  t.partial({ storage: t.keyof({ float16: null, bfloat16: null }) }),
])

const LeafSpecCodec = t.type({ path: t.string, shape: t.array(t.number), dtype: t.string })

/**
 * The manifest of a checkpoint directory: everything but the tensor bytes. Tensors inside the
 * trees are `{ "$tensor": i }` references into `tensors`, whose bytes are in `tensors.bin`.
 */
export const ManifestCodec = t.intersection([
  t.type({
    format: t.literal(CHECKPOINT_FORMAT),
    version: t.union([t.literal(1), t.literal(2)]),
    createdAt: t.string,
    tensorsBytes: t.number,
    tensorsSha256: t.string,
    tensors: t.array(TensorEntryCodec),
    paramSpec: t.array(LeafSpecCodec),
    structureHash: t.string,
    params: t.unknown,
    modelState: t.unknown,
    weightsOnly: t.boolean,
    optState: t.unknown,
    gradAccumulator: t.unknown,
    loop: t.union([LoopStateCodec, t.null]),
    hooks: t.union([t.record(t.string, t.unknown), t.null]),
    options: t.union([t.record(t.string, t.unknown), t.null]),
    precision: t.type({ name: t.string, storageDtype: t.string }),
    meta: t.record(t.string, t.unknown),
  }),
  t.partial({
    /**
     * The module's hyperparameters as JSON (`module.hparams`, set by `defineModuleFactory`).
     * Optional, so the format's version stays: checkpoints of modules without them, and of
     * versions before them, have none; older readers ignore the field.
     */
    hparams: t.record(t.string, t.unknown),
  }),
])

export type Manifest = t.TypeOf<typeof ManifestCodec>

export { sha256 }

/** The hash that identifies a parameter structure (paths, shapes, dtypes). */
export const structureHash = (spec: readonly { path: string; shape: readonly number[]; dtype: string }[]): string =>
  sha256(JSON.stringify(spec.map((s) => [s.path, s.shape, s.dtype])))

/** The manifest file's text: the content and a hash over its exact serialisation. */
export const manifestText = (content: Json): string => {
  const body = JSON.stringify(content)
  return `{"sha256":"${sha256(body)}","content":${body}}\n`
}

type CheckpointError = RxtrainError<'CheckpointError'>

const damaged = (file: string, why: string): CheckpointError =>
  rxtrainError('CheckpointError', `${file} is damaged: ${why}`, 'resume from another checkpoint (the previous one is kept until a newer one is complete).', { file })

/** Parses and checks a manifest file: its hash, its format and version, its fields. */
export const parseManifest = (text: string, file: string): E.Either<CheckpointError, Manifest> => {
  let outer: unknown
  try {
    outer = JSON.parse(text)
  } catch {
    return E.left(damaged(file, 'it is not valid JSON (truncated or overwritten)'))
  }
  if (typeof outer !== 'object' || outer === null || !('sha256' in outer) || !('content' in outer))
    return E.left(damaged(file, 'it lacks its hash or its content'))
  const { sha256: expected, content } = outer as { sha256: unknown; content: unknown }
  const actual = sha256(JSON.stringify(content))
  if (expected !== actual) return E.left(damaged(file, `its content does not match its hash (expected ${String(expected).slice(0, 12)}…, got ${actual.slice(0, 12)}…)`))
  const format = (content as { format?: unknown; version?: unknown } | null)?.format
  const version = (content as { version?: unknown } | null)?.version
  if (format !== CHECKPOINT_FORMAT) return E.left(damaged(file, `it is not an rxtrain checkpoint (format ${JSON.stringify(format)})`))
  if (!READABLE_VERSIONS.includes(version))
    return E.left(
      rxtrainError('CheckpointError', `${file} has checkpoint format version ${String(version)}; this rxtrain reads versions ${READABLE_VERSIONS.join(' and ')}`, 'load it with the rxtrain version that wrote it.', {
        file,
      }),
    )
  const decoded = ManifestCodec.decode({ ...(content as object), loop: fromJson((content as { loop?: unknown }).loop ?? null) })
  if (E.isLeft(decoded)) {
    // (The keys an intersection adds, its members' indices, are no fields.)
    const where =
      decoded.left[0]?.context
        .filter((c, i, all) => c.key !== '' && !(all[i - 1]?.type instanceof t.IntersectionType))
        .map((c) => c.key)
        .join('.') ?? '?'
    return E.left(damaged(file, `field ${where} is missing or malformed`))
  }
  return E.right(decoded.right)
}
