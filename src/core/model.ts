import type { Params } from '../tree/params.js'

/**
 * A model's variables: trainable `params` (what gradients flow to) and non-trainable `state`
 * (batch-norm running statistics), both immutable tensor trees. Applying a layer returns a new
 * state rather than mutating one (the Equinox design).
 */
export interface Model<P extends Params = Params, S extends Params = Params> {
  readonly params: P
  readonly state: S
}
