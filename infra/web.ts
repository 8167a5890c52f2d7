/// <reference path="../.sst/platform/config.d.ts" />
import { LIMITS, taskDefaults, type Access } from './containers'
import { WEB_PORT } from './services'

/**
 * The orchestrator: Nuxt/Nitro server with tRPC, a long-running container (README explains why not Lambda),
 * behind an internal load balancer only CloudFront reaches. `access` is everything it is handed; the tasks
 * also carry `securityGroup` (the database's client group) when there is one.
 */
export function web(cluster: sst.aws.Cluster, access: Access, securityGroup?: aws.ec2.SecurityGroup) {
  const prod = $app.stage === 'prod'
  const defaults = taskDefaults()
  const cloudfrontOriginFacing = aws.ec2.getManagedPrefixListOutput({ name: 'com.amazonaws.global.cloudfront.origin-facing' })
  return new sst.aws.Service('Web', {
    cluster,
    architecture: defaults.architecture,
    cpu: '1 vCPU',
    memory: '2 GB',
    image: { context: '.', dockerfile: 'infra/docker/web.Dockerfile' },
    permissions: access.permissions,
    environment: {
      ...access.environment,
      ...LIMITS,
      HOST: '0.0.0.0',
      PORT: String(WEB_PORT),
      NODE_ENV: 'production',
      AUTH_AUTO_CONFIRM: '0',
      DATA_DIR: '/data',
      JOB_TIMEOUT_MS: String(15 * 60_000),
      MAX_JOB_ATTEMPTS: '3',
      // CloudFront appends the viewer's address to X-Forwarded-For, the load balancer CloudFront's:
      // the client is the second entry from the right, whatever the client wrote before it.
      TRUSTED_PROXY_HOPS: '2',
      LOG_LEVEL: 'info',
    },
    loadBalancer: {
      public: false,
      rules: [{ listen: '80/http', forward: `${WEB_PORT}/http` }],
      // Liveness of the web server itself; /api/health also checks the services and would take the site down with them.
      health: {
        [`${WEB_PORT}/http` as const]: { path: '/', interval: '15 seconds', healthyThreshold: 2, unhealthyThreshold: 3, successCodes: '200' },
      } as const,
    },
    // Job records live in PostgreSQL, work in SQS and blobs in S3: replicas share nothing on disk and can scale out.
    scaling: { min: 1, max: prod ? 4 : 1, cpuUtilization: 60, memoryUtilization: false },
    logging: defaults.logging,
    transform: {
      executionRole: defaults.withoutSecretReads,
      service: (args) => {
        // The tasks keep the VPC security group and add the one the database admits.
        if (!securityGroup) return
        const group = securityGroup.id
        args.networkConfiguration = $output(args.networkConfiguration!).apply((network) => ({
          ...network,
          securityGroups: $output(network.securityGroups ?? []).apply((groups) => [...groups, group]),
        }))
      },
      loadBalancerSecurityGroup: (args) => {
        // Only CloudFront (the VPC origin) may reach the load balancer, and only on the listener port.
        args.ingress = [{ protocol: 'tcp', fromPort: 80, toPort: 80, prefixListIds: [cloudfrontOriginFacing.id] }]
      },
      loadBalancer: { idleTimeout: 120, dropInvalidHeaderFields: true },
    },
    dev: { command: 'npx nuxt dev', directory: '.' },
  })
}
