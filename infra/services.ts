import { MODEL_TASKS, SERVICE_ENTRY, serviceResource, serviceUrlsEnv, TASKS, type ModelTask, type TaskSpec } from '../contracts/tasks'

/**
 * The inference services the cloud and the local stack run, derived from the task table
 * (contracts/tasks.ts): one container image each (infra/docker/inference.Dockerfile with the task as
 * a build argument) and one Fargate service each.
 */
export interface InferenceServiceSpec extends TaskSpec {
  task: ModelTask
  /** Component name in sst.config.ts and the service's Cloud Map host. */
  resource: string
  /** The one service entry; the task is its argument. */
  entry: string
  /** The orchestrator's variable listing this service's replica URLs (server/config.ts). */
  urlsEnv: string
}

export const INFERENCE_SERVICES = Object.fromEntries(
  MODEL_TASKS.map((task) => [task, { ...TASKS[task], task, resource: serviceResource(task), entry: SERVICE_ENTRY, urlsEnv: serviceUrlsEnv(task) }]),
) as Record<ModelTask, InferenceServiceSpec>

export type InferenceServiceName = ModelTask

/** Port the orchestrator (Nuxt/Nitro server) listens on inside its container. */
export const WEB_PORT = 3000
