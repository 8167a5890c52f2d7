/// <reference path="./.sst/platform/config.d.ts" />

/**
 * Restora on AWS (SST v3). One stage = one isolated copy of the system:
 *
 *   viewer -> CloudFront (+ WAF rate limits) -> VPC origin -> internal ALB -> Web (Nuxt/Nitro + tRPC, Fargate)
 *   Web -> Cloud Map (private DNS) -> one inference service per task (Fargate, private subnets)
 *   Web -> S3 (blobs), SQS (jobs, with DLQ), RDS for PostgreSQL (job records), Cognito (users)
 *
 * Each box is a module under infra/. `npx sst deploy --stage prod` deploys it; `npx sst dev` deploys the
 * shared resources and runs the web app and the services locally with the commands under `dev`. The offline
 * tests in tests/infra/ evaluate this file under Pulumi mocks and assert the resource graph (README, "Deploy to AWS").
 */
export default $config({
  app(input) {
    return {
      name: 'restora',
      home: 'aws',
      // prod keeps its data (buckets, user pool) when the stage is removed, and refuses `sst remove`.
      removal: input?.stage === 'prod' ? 'retain' : 'remove',
      protect: input?.stage === 'prod',
      providers: { aws: { region: 'us-east-1' } },
    }
  },
  async run() {
    // Loaded here, not at the top: SST evaluates app() before its platform and globals (`sst`, `aws`, `$app`) exist.
    const { network } = await import('./infra/network')
    const { auth } = await import('./infra/auth')
    const { storage } = await import('./infra/storage')
    const { queue } = await import('./infra/queue')
    const { database } = await import('./infra/database')
    const { inference } = await import('./infra/inference')
    const { web } = await import('./infra/web')
    const { alarms } = await import('./infra/alarms')
    const { edge } = await import('./infra/edge')
    const { combine } = await import('./infra/containers')

    const { vpc, cluster } = network()
    const users = auth()
    const blobs = storage()
    const jobs = queue()
    const records = database(vpc) // undefined under `sst dev`: the local web app keeps its records in PGlite
    const services = inference(cluster, users.environment)
    // Each container is handed what it reaches as environment variables plus explicit IAM statements (infra/containers.ts).
    const site = web(cluster, combine(users, blobs, jobs, records, services), records?.clientSecurityGroup)
    alarms(jobs, site)

    const outputs = { userPoolId: users.userPool.id, clientId: users.client.id, bucket: blobs.bucket.name, queue: jobs.queue.url }
    // In `sst dev` the services run locally: no containers, load balancer or edge to put in front of them.
    if ($dev) return outputs
    const cdn = edge(site)
    return { url: $interpolate`https://${cdn.domainName}`, ...outputs }
  },
})
