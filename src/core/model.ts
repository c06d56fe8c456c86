import type { Params } from '../tree/params.js'

/**
 * A model's variables: trainable `params` (what gradients flow to) and non-trainable `state`
 * (batch-norm running statistics), both immutable tensor trees. Applying a layer returns a new
 * state rather than mutating one (the Equinox design).
 *
 * @example
 * const layer = nn.dense({ units: 10 })
 * const { params, state } = layer.init(key(0), [784])
 * const m: Model<nn.DenseParams, nn.Empty> = { params, state }
 * const { y } = layer.apply(m, x, { training: false, key: key(1) })   // y: [batch, 10]
 */
export interface Model<P extends Params = Params, S extends Params = Params> {
  readonly params: P
  readonly state: S
}
