/**
 * A small GAN on MNIST as an rxtrain module with two losses (`groups`): an MLP generator
 * (latent 64 -> 256 -> 512 -> 784, batch norm, leaky ReLU, tanh) and an MLP discriminator
 * (784 -> 512 -> 256 -> 1, leaky ReLU). Each training step first updates the discriminator on
 * real and generated digits, then the generator against the discriminator that step just
 * updated: one pure step, two losses, two Adam optimizers (`optim.multiTransform`), as
 * Lightning's GAN example with two optimizers.
 */
import * as tf from '@tensorflow/tfjs-core'
import { data, defineModule, foldIn, log, type Model, nn, optim, type Params, random, split, type StepContext, type TrainStepOutput } from '../../src/index.js'

/** The generator's input size. */
export const LATENT = 64

const generator = nn.sequential(
  nn.dense({ units: 256 }),
  nn.batchNorm(),
  nn.leakyRelu(0.2),
  nn.dense({ units: 512 }),
  nn.batchNorm(),
  nn.leakyRelu(0.2),
  nn.dense({ units: 784, activation: 'tanh' }),
)
const discriminator = nn.sequential(
  nn.dense({ units: 512 }),
  nn.leakyRelu(0.2),
  nn.dense({ units: 256 }),
  nn.leakyRelu(0.2),
  nn.dense({ units: 1 }),
)

export type GanParams = { readonly gen: Params; readonly disc: Params }
export type GanState = { readonly gen: Params; readonly disc: Params }
export type Gan = Model<GanParams, GanState>

/** The parameter group of a leaf: the discriminator's (`d`) or the generator's (`g`). */
const groupOf = (path: string): 'd' | 'g' => (path.startsWith('disc/') ? 'd' : 'g')

/** `n` latent vectors drawn from `k` (the same key gives the same digits: the grids use one). */
export const latent = (k: ReturnType<typeof foldIn>, n: number): tf.Tensor2D => tf.tensor2d(random.normal(k, n * LATENT), [n, LATENT])

/** Generated digits in [-1, 1], flat [n, 784]. */
export const generate = (m: Gan, z: tf.Tensor, ctx: Pick<StepContext, 'training' | 'key'>): { readonly y: tf.Tensor; readonly state: Params } =>
  generator.apply({ params: m.params.gen, state: m.state.gen }, z, ctx)

/** The discriminator's logit (real > 0) for flat digits in [-1, 1]. */
const judge = (m: Gan, x: tf.Tensor, ctx: Pick<StepContext, 'training' | 'key'>): tf.Tensor => discriminator.apply({ params: m.params.disc, state: m.state.disc }, x, ctx).y

/** Binary cross-entropy on logits against all-ones (`real`) or all-zeros: softplus(∓logit). */
const bce = (logits: tf.Tensor, real: boolean): tf.Scalar => tf.mean(tf.softplus(real ? tf.neg(logits) : logits)) as tf.Scalar

export const gan = defineModule({
  init: (key) => {
    const [kg, kd] = split(key, 2)
    const g = generator.init(kg, [LATENT])
    const d = discriminator.init(kd, [784])
    return { params: { gen: g.params, disc: d.params }, state: { gen: g.state, disc: d.state } }
  },
  // Called once per group, in `groups.order`: the discriminator's loss, then the generator's.
  trainingStep: (m: Gan, batch: data.MnistBatch, ctx): TrainStepOutput<GanState> => {
    const n = batch.x.shape[0] as number
    const { y: fake, state: gen } = generate(m, latent(foldIn(ctx.key, ctx.group === 'd' ? 0 : 1), n), ctx)
    const state = { gen, disc: m.state.disc } // the generator's batch-norm statistics move
    if (ctx.group === 'd') {
      const real = tf.sub(tf.mul(batch.x, 2), 1) // [0, 1] -> [-1, 1], the generator's range
      const loss = tf.mul(tf.add(bce(judge(m, real, ctx), true), bce(judge(m, fake, ctx), false)), 0.5) as tf.Scalar
      return { loss, logs: { 'train/d_loss': log(loss, { progBar: true, onEpoch: true }) }, state }
    }
    // The non-saturating generator loss: make the (just updated) discriminator call fakes real.
    const loss = bce(judge(m, fake, ctx), true)
    return { loss, logs: { 'train/g_loss': log(loss, { progBar: true, onEpoch: true }) }, state }
  },
  // Adam with b1 = 0.5 as DCGAN; 1e-3 rather than its 2e-4, so digits appear within a few minutes.
  optimizer: optim.multiTransform({ d: optim.adam({ lr: 1e-3, b1: 0.5 }), g: optim.adam({ lr: 1e-3, b1: 0.5 }) }, groupOf),
  groups: { order: ['d', 'g'], groupOf },
})
