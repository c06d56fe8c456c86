import protobuf from 'protobufjs'

/*
 * The parts of TensorBoard's `Event` protocol buffer that rxtrain writes, declared here with the
 * upstream names, field numbers and types (only the fields used; unknown fields are legal to
 * omit). Checked against:
 *   tensorflow/tensorboard  tensorboard/compat/proto/event.proto   (= tensorflow/core/util/event.proto)
 *     Event: wall_time = 1 (double), step = 2 (int64), oneof what { file_version = 3 (string),
 *     summary = 5 (Summary), session_log = 7 (SessionLog) }
 *     SessionLog: status = 1 (SessionStatus: START = 1), checkpoint_path = 2, msg = 3
 *   tensorflow/tensorboard  tensorboard/compat/proto/summary.proto
 *     Summary: repeated Value value = 1
 *     Summary.Value: tag = 1 (string), metadata = 9 (SummaryMetadata),
 *       oneof value { simple_value = 2 (float), tensor = 8 (TensorProto) }
 *     SummaryMetadata: plugin_data = 1 (PluginData); PluginData: plugin_name = 1, content = 2 (bytes)
 *   tensorflow/tensorboard  tensorboard/compat/proto/tensor.proto, tensor_shape.proto, types.proto
 *     TensorProto: dtype = 1 (DataType), tensor_shape = 2; TensorShapeProto: repeated Dim dim = 2;
 *     Dim: size = 1 (int64); DataType: DT_FLOAT = 1
 */
const schema = `
syntax = "proto3";
package tensorboard;

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
    SessionLog session_log = 7;
  }
}

message SessionLog {
  enum SessionStatus {
    STATUS_UNSPECIFIED = 0;
    START = 1;
    STOP = 2;
    CHECKPOINT = 3;
  }
  SessionStatus status = 1;
  string checkpoint_path = 2;
  string msg = 3;
}

message Summary {
  message Value {
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
}

enum DataType {
  DT_INVALID = 0;
  DT_FLOAT = 1;
}

message TensorShapeProto {
  message Dim {
    int64 size = 1;
  }
  repeated Dim dim = 2;
}

message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
}
`

const root = protobuf.parse(schema, { keepCase: true }).root
const EventType = root.lookupType('tensorboard.Event')

/** What every event file starts with, naming the record format. */
export const FILE_VERSION = 'brain.Event:2'

export interface TensorMessage {
  readonly dtype: number
  readonly tensor_shape: { readonly dim: readonly { readonly size: number }[] }
}

export interface SummaryValueMessage {
  readonly tag: string
  readonly simple_value?: number
  readonly tensor?: TensorMessage
  readonly metadata?: { readonly plugin_data: { readonly plugin_name: string; readonly content: Uint8Array } }
}

/** An `Event` as written (wall time in seconds since the Unix epoch). */
export interface EventMessage {
  readonly wall_time: number
  readonly step?: number
  readonly file_version?: string
  readonly summary?: { readonly value: readonly SummaryValueMessage[] }
  readonly session_log?: { readonly status: number; readonly checkpoint_path?: string; readonly msg?: string }
}

/** The serialized `Event`. */
export const encodeEvent = (event: EventMessage): Uint8Array => EventType.encode(EventType.fromObject(event)).finish()

/** The first event of a file: `file_version: "brain.Event:2"`. */
export const fileVersionEvent = (wallTime: number): Uint8Array => encodeEvent({ wall_time: wallTime, step: 0, file_version: FILE_VERSION })

/**
 * A session restart at `step` (`SessionLog.START`): TensorBoard drops the data it has at or after
 * that step from earlier files, so a run resumed from a checkpoint does not show the steps a crash
 * made twice.
 */
export const sessionStartEvent = (wallTime: number, step: number, checkpointPath: string): Uint8Array =>
  encodeEvent({ wall_time: wallTime, step, session_log: { status: 1, checkpoint_path: checkpointPath } })

/**
 * One event of scalar summaries (`simple_value`, float32) at a step, one value per tag, in the
 * order given. Non-finite values are written as they are.
 */
export const scalarsEvent = (wallTime: number, step: number, scalars: Readonly<Record<string, number>>): Uint8Array =>
  encodeEvent({
    wall_time: wallTime,
    step,
    summary: { value: Object.entries(scalars).map(([tag, value]) => ({ tag, simple_value: value })) },
  })

/**
 * TensorBoard's "null tensor" (an empty float vector, `tensor_util.make_tensor_proto([], DT_FLOAT,
 * shape=(0,))`), which metadata-only plugin summaries carry so that TensorBoard's data provider
 * lists their tags.
 */
export const NULL_TENSOR: TensorMessage = { dtype: 1, tensor_shape: { dim: [{ size: 0 }] } }

/** An event with one metadata-only summary for a plugin (its `content` is the plugin's own proto). */
export const pluginEvent = (wallTime: number, step: number, tag: string, pluginName: string, content: Uint8Array): Uint8Array =>
  encodeEvent({
    wall_time: wallTime,
    step,
    summary: { value: [{ tag, metadata: { plugin_data: { plugin_name: pluginName, content } }, tensor: NULL_TENSOR }] },
  })
