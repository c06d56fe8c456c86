/**
 * tfjs-core's Node bundle ships no gradient definitions and no chained tensor methods; the
 * `@tensorflow/tfjs` umbrella registers them, at the price of installing tfjs-layers, -converter,
 * -data and -webgl. rxtrain registers them from its own bundle of tfjs-core's definitions
 * (scripts/gradientsModuleSource.ts says why). Importing this module is what makes `tf.grads` work.
 */
import * as tf from '@tensorflow/tfjs-core'
// Tensors made before a run picks its backend (parameters initialised at a module's top level, a
// user's own tf calls) need one registered: the cpu backend, as the umbrella registers it too.
import '@tensorflow/tfjs-backend-cpu'
import './tfjsGradients.generated.js'

// tfjs greets Node users on stderr, suggesting tfjs-node; rxtrain chooses backends itself.
tf.env().set('PROD', true)
