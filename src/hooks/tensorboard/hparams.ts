import protobuf from 'protobufjs'
import { type HParams, runHparams } from '../logRows.js'
import type { ResolvedOptions } from '../../pipeline/options.js'
import { pluginEvent } from './eventProto.js'

/*
 * TensorBoard's HParams plugin data, declared with the upstream names, field numbers and types
 * (only the fields written). Checked against:
 *   tensorflow/tensorboard  tensorboard/plugins/hparams/plugin_data.proto
 *     HParamsPluginData: version = 1 (int32), oneof data { session_start_info = 3 }
 *     SessionStartInfo: map<string, google.protobuf.Value> hparams = 1, group_name = 4 (string),
 *       start_time_secs = 5 (double)
 *   protocolbuffers/protobuf  src/google/protobuf/struct.proto
 *     Value: oneof kind { number_value = 2 (double), string_value = 3, bool_value = 4 }
 *   tensorflow/tensorboard  tensorboard/plugins/hparams/metadata.py
 *     PLUGIN_NAME "hparams", PLUGIN_DATA_VERSION 0, SESSION_START_INFO_TAG "_hparams_/session_start_info"
 */
const root = new protobuf.Root()
protobuf.parse(
  `syntax = "proto3";
  package google.protobuf;
  message Value {
    oneof kind {
      double number_value = 2;
      string string_value = 3;
      bool bool_value = 4;
    }
  }`,
  root,
  { keepCase: true },
)
protobuf.parse(
  `syntax = "proto3";
  package tensorboard.hparams;
  message HParamsPluginData {
    int32 version = 1;
    oneof data {
      SessionStartInfo session_start_info = 3;
    }
  }
  message SessionStartInfo {
    map<string, google.protobuf.Value> hparams = 1;
    string group_name = 4;
    double start_time_secs = 5;
  }`,
  root,
  { keepCase: true },
)
const PluginData = root.lookupType('tensorboard.hparams.HParamsPluginData')

export const HPARAMS_PLUGIN = 'hparams'
export const SESSION_START_INFO_TAG = '_hparams_/session_start_info'

export type { HParams } from '../logRows.js'

/**
 * The run's hyperparameters for the HParams dashboard (see `runHparams`): the trainer options, the
 * module's (`model`, flattened as the dashboard needs: `model.hidden`), then your own.
 */
export const hparamsOf = (options: ResolvedOptions, extra: HParams = {}, model?: Readonly<Record<string, unknown>>): HParams =>
  runHparams(options, model === undefined ? extra : { model, ...extra })

const protoValue = (v: number | string | boolean) =>
  typeof v === 'number' ? { number_value: v } : typeof v === 'string' ? { string_value: v } : { bool_value: v }

/** The serialized `HParamsPluginData` (version 0) holding a `SessionStartInfo`. */
export const sessionStartInfo = (hparams: HParams, startTimeSecs: number): Uint8Array =>
  PluginData.encode(
    PluginData.fromObject({
      version: 0,
      session_start_info: {
        hparams: Object.fromEntries(Object.entries(hparams).map(([k, v]) => [k, protoValue(v)])),
        start_time_secs: startTimeSecs,
      },
    }),
  ).finish()

/** The event that tells TensorBoard's HParams dashboard this run's hyperparameters. */
export const hparamsEvent = (hparams: HParams, wallTime: number): Uint8Array =>
  pluginEvent(wallTime, 0, SESSION_START_INFO_TAG, HPARAMS_PLUGIN, sessionStartInfo(hparams, wallTime))
