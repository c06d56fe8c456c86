import * as E from 'fp-ts/lib/Either.js'
import protobuf from 'protobufjs'
import type { FileSystem } from '../../src/effects/fileSystem.js'

/*
 * A reader of TensorBoard event files for tests, independent of src: TFRecord framing (CRCs not
 * checked here; test/hooks/tensorboard.test.ts checks them) and the `Event` fields rxtrain writes,
 * declared from the upstream field numbers (tensorboard/compat/proto/event.proto, summary.proto).
 */
const root = protobuf.Root.fromJSON(<protobuf.INamespace>{
  nested: {
    Event: {
      fields: {
        wall_time: { type: 'double', id: 1 },
        step: { type: 'int64', id: 2 },
        file_version: { type: 'string', id: 3 },
        summary: { type: 'Summary', id: 5 },
        session_log: { type: 'SessionLog', id: 7 },
      },
    },
    SessionLog: { fields: { status: { type: 'int32', id: 1 }, checkpoint_path: { type: 'string', id: 2 } } },
    Summary: { fields: { value: { rule: 'repeated', type: 'Value', id: 1 } } },
    Value: { fields: { tag: { type: 'string', id: 1 }, simple_value: { type: 'float', id: 2 }, tensor: { type: 'bytes', id: 8 } } },
  },
})
const EventType = root.lookupType('Event')

/** One event of a file: a scalar summary's values, or a session restart (`SessionLog.START`) at a step. */
export interface TfEvent {
  readonly step: number
  readonly scalars: readonly { readonly tag: string; readonly value: number }[]
  readonly sessionStart: boolean
}

/** The events of one event file, in order. */
export const readEventFile = (bytes: Uint8Array): TfEvent[] => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: TfEvent[] = []
  for (let at = 0; at < bytes.length; ) {
    if (at + 12 > bytes.length) throw new Error(`truncated record header at byte ${at}`)
    const length = Number(view.getBigUint64(at, true))
    if (at + 16 + length > bytes.length) throw new Error(`truncated record at byte ${at}`)
    const event = EventType.toObject(EventType.decode(bytes.subarray(at + 12, at + 12 + length)), { longs: Number, defaults: true }) as {
      step: number
      summary?: { value: { tag: string; simple_value: number; tensor?: Uint8Array }[] }
      session_log?: { status: number }
    }
    const values = event.summary?.value ?? []
    out.push({
      step: event.step,
      // scalars only (the HParams summary carries a tensor, not a value)
      scalars: values.filter((v) => v.tensor === undefined || v.tensor.length === 0).map((v) => ({ tag: v.tag, value: v.simple_value })),
      sessionStart: event.session_log?.status === 1,
    })
    at += 16 + length
  }
  return out
}

/** The event files of a directory, in name order (the order TensorBoard reads them in), each with its events. */
export const readEventDir = async (fs: FileSystem, dir: string): Promise<{ name: string; events: TfEvent[] }[]> => {
  const names = await fs.list(dir)()
  if (E.isLeft(names)) throw names.left
  const out: { name: string; events: TfEvent[] }[] = []
  for (const name of names.right.filter((n) => n.startsWith('events.out.tfevents.'))) {
    const bytes = await fs.readFile(`${dir}/${name}`)()
    if (E.isLeft(bytes)) throw bytes.left
    out.push({ name, events: readEventFile(bytes.right) })
  }
  return out
}

/** A scalar point as a string, `tag@step=value`, for set comparisons. */
const point = (tag: string, step: number, value: number): string => `${tag}@${step}=${value}`

/** Every scalar point of all the files, as `tag@step=value` (a set: the union of the files). */
export const pointsOf = (files: readonly { events: readonly TfEvent[] }[]): Set<string> =>
  new Set(files.flatMap((f) => f.events.flatMap((e) => e.scalars.map((s) => point(s.tag, e.step, s.value)))))

/** The (tag, step) pairs that have more than one value across the files. */
export const conflictsOf = (files: readonly { events: readonly TfEvent[] }[]): string[] => {
  const values = new Map<string, Set<string>>()
  for (const f of files) for (const e of f.events) for (const s of e.scalars) {
    const key = `${s.tag}@${e.step}`
    values.set(key, (values.get(key) ?? new Set()).add(String(s.value)))
  }
  return [...values].filter(([, v]) => v.size > 1).map(([k, v]) => `${k}: ${[...v].join(' / ')}`)
}

/**
 * What TensorBoard shows: the files read in order, where a session restart (`SessionLog.START`)
 * at step s drops the points read so far at steps >= s (TensorBoard's `purge_orphaned_data`, on
 * by default), as `tag@step=value` strings.
 */
export const tensorboardView = (files: readonly { events: readonly TfEvent[] }[]): Set<string> => {
  let shown: { tag: string; step: number; value: number }[] = []
  for (const f of files)
    for (const e of f.events) {
      if (e.sessionStart) shown = shown.filter((p) => p.step < e.step)
      for (const s of e.scalars) shown.push({ tag: s.tag, step: e.step, value: s.value })
    }
  return new Set(shown.map((p) => point(p.tag, p.step, p.value)))
}
