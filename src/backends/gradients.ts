/**
 * tfjs-core's Node bundle ships no gradient definitions; the `@tensorflow/tfjs` bundle registers
 * them (and the cpu kernels) when loaded. Importing this module is what makes `tf.grads` work.
 */
import '@tensorflow/tfjs'
import * as tf from '@tensorflow/tfjs-core'

// tfjs greets Node users on stderr, suggesting tfjs-node; rxtrain chooses backends itself.
tf.env().set('PROD', true)
