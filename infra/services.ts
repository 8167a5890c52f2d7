/**
 * The inference services the cloud runs: one container image (built from
 * infra/docker/inference.Dockerfile with the entry as a build argument) and one Fargate service
 * each. sst.config.ts, the image build script and the infra tests all read this table, so a new
 * service is a new row here plus its entry file.
 */
export interface InferenceServiceSpec {
  /** Component name in sst.config.ts, and the name server code reads through `Resource`. */
  resource: string
  /** The entry file that calls startService(...). */
  entry: string
  /** Port the service listens on, in the container and under `sst dev` (PORT). */
  port: number
  /** The orchestrator's variable listing this service's replica URLs (server/config.ts). */
  urlsEnv: string
  /** Fargate size: ESRGAN-class models run one image at a time on CPU (MAX_CONCURRENT_RUNS=1). */
  cpu: '1 vCPU' | '2 vCPU' | '4 vCPU'
  memory: `${number} GB`
  /** How long a start (converting and loading the models) may take before the local stack gives up, in ms. */
  readyTimeoutMs: number
}

// MAXIM graphs take longest to start: converted on first start (~10 s each), then loaded into ORT.
export const INFERENCE_SERVICES = {
  upscale: { resource: 'Upscale', entry: 'inference/service/upscale.ts', port: 8101, urlsEnv: 'UPSCALE_SERVICE_URLS', cpu: '2 vCPU', memory: '4 GB', readyTimeoutMs: 120_000 },
  denoise: { resource: 'Denoise', entry: 'inference/service/denoise.ts', port: 8102, urlsEnv: 'DENOISE_SERVICE_URLS', cpu: '2 vCPU', memory: '4 GB', readyTimeoutMs: 300_000 },
  'remove-text': { resource: 'RemoveText', entry: 'inference/service/remove-text.ts', port: 8103, urlsEnv: 'REMOVE_TEXT_SERVICE_URLS', cpu: '2 vCPU', memory: '4 GB', readyTimeoutMs: 120_000 },
  enhance: { resource: 'Enhance', entry: 'inference/service/enhance.ts', port: 8104, urlsEnv: 'ENHANCE_SERVICE_URLS', cpu: '2 vCPU', memory: '4 GB', readyTimeoutMs: 600_000 },
} as const satisfies Record<string, InferenceServiceSpec>

export type InferenceServiceName = keyof typeof INFERENCE_SERVICES

/** Port the orchestrator (Nuxt/Nitro server) listens on inside its container. */
export const WEB_PORT = 3000
