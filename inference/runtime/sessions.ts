import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import * as ort from 'onnxruntime-node'

/**
 * One ORT session per model file per process. Sessions are expensive to create (graph
 * optimisation, weight packing) and safe to share, so every request reuses them.
 */
const sessions = new Map<string, Promise<ort.InferenceSession>>()

/**
 * onnxruntime-node runs a session on the thread that calls it, so a 4 s tile held a service's event
 * loop for 4 s: health checks, the model catalogue and cancel requests waited behind it (a 512 px
 * Real-ESRGAN x4 run: 0.94 s stalls; a MAXIM or x4plus tile, several seconds). The sessions live in
 * one worker thread instead (ORT's own intra-op threads still do the work); the service's thread
 * only posts the tensors there and back. The worker's code is plain JavaScript in a string, so the
 * bundled service (infra/docker) needs no second file; it loads the same onnxruntime-node.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const ort = require(workerData.ort)
const sessions = new Map()
const plain = (t) => ({ type: t.type, data: t.data, dims: t.dims })
parentPort.on('message', async ({ call, kind, id, path, options, feeds }) => {
  try {
    if (kind === 'load') {
      const s = await ort.InferenceSession.create(path, options)
      sessions.set(id, s)
      parentPort.postMessage({ call, inputNames: s.inputNames, outputNames: s.outputNames, inputMetadata: s.inputMetadata, outputMetadata: s.outputMetadata })
    } else if (kind === 'run') {
      const inputs = {}
      for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor(t.type, t.data, t.dims)
      const results = await sessions.get(id).run(inputs)
      const outputs = {}
      for (const [name, t] of Object.entries(results)) outputs[name] = plain(t)
      // The outputs' buffers move to the service's thread instead of being copied (16 MB for one x4 tile).
      parentPort.postMessage({ call, outputs }, Object.values(outputs).map((t) => t.data.buffer).filter((b) => b instanceof ArrayBuffer))
    } else if (kind === 'release') {
      await sessions.get(id)?.release()
      sessions.delete(id)
      parentPort.postMessage({ call })
    }
  } catch (error) {
    parentPort.postMessage({ call, error: error instanceof Error ? error.message : String(error) })
  }
})
`

type Reply = { call: number; error?: string } & Record<string, unknown>
let worker: Worker | null = null
const pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>()
let calls = 0

/** Posts one request to the session worker; the worker keeps the process alive only while a request is out. */
function ask(message: Record<string, unknown>): Promise<Reply> {
  if (!worker) {
    const started = new Worker(WORKER_SOURCE, { eval: true, workerData: { ort: createRequire(import.meta.url).resolve('onnxruntime-node') } })
    started.on('message', (reply: Reply) => {
      const waiting = pending.get(reply.call)
      pending.delete(reply.call)
      if (!pending.size) started.unref()
      if (reply.error !== undefined) waiting?.reject(new Error(reply.error))
      else waiting?.resolve(reply)
    })
    started.on('error', (error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error))
      for (const waiting of pending.values()) waiting.reject(failure)
      pending.clear()
      sessions.clear()
      worker = null
    })
    worker = started
  }
  const call = ++calls
  const promise = new Promise<Reply>((resolve, reject) => pending.set(call, { resolve, reject }))
  worker.ref()
  worker.postMessage({ ...message, call })
  return promise
}

const plainTensor = (t: ort.Tensor) => ({ type: t.type, data: t.data, dims: t.dims })

/** A session in the worker, with the part of ORT's InferenceSession the adapters use. */
async function workerSession(path: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  const id = path
  const loaded = await ask({ kind: 'load', id, path, options })
  const session = {
    inputNames: loaded.inputNames,
    outputNames: loaded.outputNames,
    inputMetadata: loaded.inputMetadata,
    outputMetadata: loaded.outputMetadata,
    async run(feeds: Record<string, ort.Tensor>) {
      const reply = await ask({ kind: 'run', id, feeds: Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, plainTensor(t)])) })
      const outputs = reply.outputs as Record<string, { type: ort.Tensor.Type; data: ort.Tensor.DataType; dims: number[] }>
      return Object.fromEntries(Object.entries(outputs).map(([name, o]) => [name, new ort.Tensor(o.type, o.data as Float32Array, o.dims)]))
    },
    async release() {
      await ask({ kind: 'release', id })
    },
  }
  return session as unknown as ort.InferenceSession
}

export function intraOpThreads(): number {
  const fromEnv = Number(process.env.ORT_INTRA_OP_THREADS)
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism()
}

/**
 * ORT's intra-op threads spin while waiting for work by default: fastest when the process has its
 * cores to itself (an ECS task), but where processes share the cores (npm test runs services,
 * browsers and models side by side on 2) the spinning takes CPU from the others: two processes of 4
 * MAXIM tiles each took 41.1 s with it and 29.9 s without (ORT_INTRA_OP_SPINNING=0), one alone 12.7 s
 * with, 14.6 s without (bench/results/ort-spinning.md).
 */
const intraOpSpinning = () => process.env.ORT_INTRA_OP_SPINNING !== '0'

/**
 * `arena: false` for big graphs a service holds several of: ORT's CPU arena keeps each session's
 * peak activations after a run (1.3 GB per MAXIM session at 256x256, so six of them grew the enhance
 * service to 7 GB); without it a MAXIM session stays at ~0.5 GB between runs, at the same speed.
 */
export function sessionOptions({ arena = true }: { arena?: boolean } = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: intraOpThreads(),
    interOpNumThreads: 1,
    enableCpuMemArena: arena,
    enableMemPattern: arena,
    extra: { session: { intra_op: { allow_spinning: intraOpSpinning() ? '1' : '0' } } },
  }
}

export function loadSession(onnxPath: string, options: { arena?: boolean } = {}): Promise<ort.InferenceSession> {
  let session = sessions.get(onnxPath)
  if (!session) {
    session = workerSession(onnxPath, sessionOptions(options))
    session.catch(() => sessions.delete(onnxPath))
    sessions.set(onnxPath, session)
  }
  return session
}

/** Runs a single-input, single-output image model on one CHW tile. */
export async function runImageSession(session: ort.InferenceSession, input: Float32Array, height: number, width: number): Promise<Float32Array> {
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, height, width]) }
  const results = await session.run(feeds)
  const output = results[session.outputNames[0]!]!
  const data = output.data as Float32Array
  output.dispose()
  return data
}
