import { availableParallelism } from 'node:os'
import * as ort from 'onnxruntime-node'

/**
 * One ORT session per model file per process. Sessions are expensive to create (graph
 * optimisation, weight packing) and safe to share, so every request reuses them.
 */
const sessions = new Map<string, Promise<ort.InferenceSession>>()

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
    session = ort.InferenceSession.create(onnxPath, sessionOptions(options))
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
