/// <reference path="../.sst/platform/config.d.ts" />
import { LIMITS, taskDefaults, type Access, type Environment } from './containers'
import { INFERENCE_SERVICES } from './services'

/**
 * One Fargate service per task of contracts/tasks.ts, private only, found through Cloud Map, with no AWS
 * permissions at all. Every image and `sst dev` run the one entry with the task as its argument.
 * `environment` is what the services are handed; what they return is what a caller needs: their URLs (no IAM).
 */
export function inference(cluster: sst.aws.Cluster, environment: Environment): Access & { services: sst.aws.Service[] } {
  const prod = $app.stage === 'prod'
  const defaults = taskDefaults()
  const services = Object.values(INFERENCE_SERVICES).map((spec) => {
    const health = ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${spec.port}/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`]
    const service = new sst.aws.Service(spec.resource, {
      cluster,
      architecture: defaults.architecture,
      cpu: spec.cpu,
      memory: spec.memory,
      image: { context: '.', dockerfile: 'infra/docker/inference.Dockerfile', args: { SERVICE_TASK: spec.task } },
      environment: {
        ...environment,
        ...LIMITS,
        HOST: '0.0.0.0',
        PORT: String(spec.port),
        ORT_INTRA_OP_THREADS: String(parseInt(spec.cpu, 10)),
        MAX_CONCURRENT_RUNS: '1',
        LOG_LEVEL: 'info',
      },
      health: { command: health, startPeriod: '120 seconds', interval: '30 seconds', timeout: '5 seconds', retries: 3 },
      // Outside prod, Fargate Spot (about 70% cheaper); a reclaimed task only means a retried job.
      capacity: prod ? undefined : 'spot',
      scaling: { min: 1, max: prod ? 4 : 1, cpuUtilization: 60, memoryUtilization: false, scaleOutCooldown: '60 seconds', scaleInCooldown: '300 seconds' },
      logging: defaults.logging,
      transform: { executionRole: defaults.withoutSecretReads },
      dev: { command: `npx tsx ${spec.entry} ${spec.task}` },
    })
    return { spec, service }
  })
  // Under `sst dev` the services run on this machine, on their own ports.
  const urls: Environment = Object.fromEntries(
    services.map(({ spec, service }) => [spec.urlsEnv, $dev ? `http://127.0.0.1:${spec.port}` : $interpolate`http://${service.service}:${spec.port}`]),
  )
  return { services: services.map(({ service }) => service), environment: urls, permissions: [] }
}
