/**
 * The task table: everything that differs from one task to another, once. A task is served by its
 * own inference service; ports, the orchestrator's variables, the service entry, the local stack,
 * the cloud services, the image build and the tests are all derived from this table
 * (`Record<ModelTask, TaskSpec>`, so the type checker names whatever a new task still lacks: its row
 * here and its adapters in inference/models/registry.ts).
 */
export const MODEL_TASKS = ['upscale', 'denoise', 'enhance', 'remove-text'] as const
export type ModelTask = (typeof MODEL_TASKS)[number]

export interface TaskSpec {
  /** How the pages and the CLI name the task. */
  title: string
  /** What it does, in a line, for the studio's task cards. */
  summary: string
  /** Port its service listens on: in the container, under `sst dev` and in the local stack. */
  port: number
  /** Fargate size: the models run one image at a time on CPU (MAX_CONCURRENT_RUNS=1). */
  cpu: '1 vCPU' | '2 vCPU' | '4 vCPU'
  memory: `${number} GB`
  /** How long a start (converting and loading the models) may take before the local stack gives up, in ms. */
  readyTimeoutMs: number
}

// MAXIM graphs take longest to start: converted on first start (~10 s each), then loaded into ORT.
export const TASKS: Record<ModelTask, TaskSpec> = {
  upscale: {
    title: 'Upscale',
    summary: 'Enlarge 2-8× with detail a plain resize cannot make',
    port: 8101,
    cpu: '2 vCPU',
    memory: '4 GB',
    readyTimeoutMs: 120_000,
  },
  denoise: { title: 'Denoise', summary: 'Clear grain and sensor noise, keep edges', port: 8102, cpu: '2 vCPU', memory: '4 GB', readyTimeoutMs: 300_000 },
  'remove-text': {
    title: 'Remove text',
    summary: 'Find captions, stamps and watermarks and fill them from the photo',
    port: 8103,
    cpu: '2 vCPU',
    memory: '4 GB',
    readyTimeoutMs: 120_000,
  },
  enhance: {
    title: 'Enhance',
    summary: 'Deblur, dehaze, brighten a dark shot or retouch colour',
    port: 8104,
    cpu: '2 vCPU',
    memory: '4 GB',
    readyTimeoutMs: 600_000,
  },
}

/** The orchestrator's variable listing a task's replica URLs: `REMOVE_TEXT_SERVICE_URLS`. */
export const serviceUrlsEnv = (task: ModelTask) => `${task.toUpperCase().replace(/-/g, '_')}_SERVICE_URLS`

/** Component name of the task's service in sst.config.ts (and its Cloud Map host): `RemoveText`. */
export const serviceResource = (task: ModelTask) => task.replace(/(^|-)(\w)/g, (_, _dash, c: string) => c.toUpperCase())

/** Every service runs the one entry with its task as the argument (the image build passes the same). */
export const SERVICE_ENTRY = 'inference/service/main.ts'

export const isModelTask = (name: string): name is ModelTask => (MODEL_TASKS as readonly string[]).includes(name)
