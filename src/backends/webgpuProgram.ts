import type * as tf from '@tensorflow/tfjs-core'

/**
 * Runs rxtrain's own WGSL kernels on tfjs-backend-webgpu 4.22 in one dispatch with several
 * outputs. tfjs's programs have exactly one output (its shader prelude declares the others
 * read-only), so a fused kernel with two or three results would otherwise need a copy (a Slice
 * dispatch) per extra output. Here the shader is written whole and compiled once per device; the
 * dispatch itself goes through the backend's `recordAndSubmit`, so it is queued, batched,
 * released and counted (webgpuCounters.ts) exactly as tfjs's own programs are.
 *
 * Binding layout (what `recordAndSubmit` binds): 0 the first output, then the inputs, then the
 * other outputs (declared read_write), then the uniform buffer. Every tensor is passed as 1-D, so
 * `recordAndSubmit`'s uniforms are the words NaN, Infinity and (size, 1) per tensor, each 4 bytes;
 * the kernel's own parameters follow them (`param(i)` in the shader reads the i-th).
 */

interface GpuDevice {
  createShaderModule(descriptor: { code: string }): object
  createComputePipeline(descriptor: { layout: 'auto'; compute: { module: object; entryPoint: string } }): object
}

/** What the runner needs of tfjs-backend-webgpu 4.22's backend object. */
interface WebGpuBackendInternals {
  readonly device: GpuDevice
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo
  uploadToGPU(dataId: object): void
  recordAndSubmit(program: object, output: tf.TensorInfo, inputs: tf.TensorInfo[], uniforms: { type: string; data: number[] }[]): void
}

/** A kernel parameter: a float, or an unsigned integer (sizes, counts). */
export type Param = { readonly f32: number } | { readonly u32: number }

/** A fused WGSL kernel: its name (what the dispatch counter shows), body and workgroup layout. */
export interface WgslKernel {
  readonly name: string
  /** Names of the inputs, bound read-only as `array<f32>` (or `array<i32>` where `int` lists them). */
  readonly inputs: readonly string[]
  /** Inputs that hold int32 values. */
  readonly int?: readonly string[]
  /** Names of the outputs, bound read-write as `array<f32>`. */
  readonly outputs: readonly string[]
  readonly workgroupSize: number
  /** The body of `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>)`; may use `param(i)`, `paramU(i)` and declare module-scope items in `prelude`. */
  readonly body: string
  /** Module-scope WGSL (workgroup arrays, helper functions). */
  readonly prelude?: string
}

const pipelines = new WeakMap<object, Map<string, { readonly pipeline: object; readonly ctor: new () => object }>>()

const shaderOf = (k: WgslKernel, uniformWords: number): string => {
  const order = [k.outputs[0] as string, ...k.inputs, ...k.outputs.slice(1)]
  const bindings = order.map((name, i) => {
    const isOut = k.outputs.includes(name)
    const type = k.int?.includes(name) === true ? 'i32' : 'f32'
    return `@group(0) @binding(${i}) var<storage, ${isOut ? 'read_write' : 'read'}> ${name}: array<${type}>;`
  })
  const vec4s = uniformWords / 4
  return `${bindings.join('\n')}
@group(0) @binding(${order.length}) var<uniform> rxU: array<vec4<f32>, ${vec4s}>;
const rxFirstParam: u32 = ${2 + 2 * order.length}u;
fn param(i: u32) -> f32 { let w = rxFirstParam + i; return rxU[w / 4u][w % 4u]; }
fn paramU(i: u32) -> u32 { return bitcast<u32>(param(i)); }
${k.prelude ?? ''}
@compute @workgroup_size(${k.workgroupSize})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Keeps the uniform binding in the pipeline's layout even where the body reads no parameter.
  _ = rxU[0];
${k.body}
}`
}

/** The uniform's length in words, padded to whole vec4s (the shader reads it as vec4s). */
const uniformWordsOf = (tensors: number, params: number): number => Math.ceil((2 + 2 * tensors + params) / 4) * 4

/**
 * Runs `kernel` once (one dispatch of `workgroups` workgroups) on `inputs` and returns new
 * outputs of the given shapes (all float32). Every input must be float32, or int32 where the
 * kernel says so, and non-empty.
 */
export const runWgsl = (
  backend: unknown,
  kernel: WgslKernel,
  inputs: readonly tf.TensorInfo[],
  outputShapes: readonly (readonly number[])[],
  params: readonly Param[],
  workgroups: number,
): tf.TensorInfo[] => {
  const b = backend as WebGpuBackendInternals
  const tensors = inputs.length + outputShapes.length
  const words = uniformWordsOf(tensors, params.length)
  let cache = pipelines.get(b.device)
  if (cache === undefined) pipelines.set(b.device, (cache = new Map()))
  const key = `${kernel.name}/${words}`
  let compiled = cache.get(key)
  if (compiled === undefined) {
    const module = b.device.createShaderModule({ code: shaderOf(kernel, words) })
    const pipeline = b.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } })
    // A class named after the kernel, so profiles and dispatch counts show its name.
    const ctor = { [kernel.name]: class {} }[kernel.name] as new () => object
    cache.set(key, (compiled = { pipeline, ctor }))
  }
  const outputs = outputShapes.map((shape) => b.makeTensorInfo([...shape], 'float32'))
  const flat = (t: tf.TensorInfo): tf.TensorInfo => ({ dataId: t.dataId, dtype: t.dtype, shape: [t.shape.reduce((p, d) => p * d, 1)] })
  for (const t of [...inputs, ...outputs]) b.uploadToGPU(t.dataId)
  const program = Object.assign(new compiled.ctor(), { pipeline: compiled.pipeline, dispatch: [workgroups, 1, 1] })
  const padding = words - (2 + 2 * tensors + params.length)
  const uniforms = [...params, ...Array.from({ length: padding }, () => ({ f32: 0 }))].map((p) =>
    'f32' in p ? { type: 'float32', data: [p.f32] } : { type: 'uint32', data: [p.u32] },
  )
  const [first, ...rest] = outputs.map(flat) as [tf.TensorInfo, ...tf.TensorInfo[]]
  b.recordAndSubmit(program, first, [...inputs.map(flat), ...rest], uniforms)
  return outputs
}

/** Workgroups for `n` elements at `size` invocations each, capped where a grid-stride loop takes over. */
export const workgroupsFor = (n: number, size: number): number => Math.max(1, Math.min(Math.ceil(n / size), 65535))
