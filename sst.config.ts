/// <reference path="./.sst/platform/config.d.ts" />

/**
 * Restora on AWS (SST v3). One stage = one isolated copy of the system:
 *
 *   viewer -> CloudFront (+ WAF rate limits) -> VPC origin -> internal ALB -> Web (Nuxt/Nitro + tRPC, Fargate)
 *   Web -> Cloud Map (private DNS) -> Upscale / Denoise / RemoveText (Fargate, private subnets)
 *   Web -> S3 (blobs), SQS (jobs, with DLQ), Cognito (users)
 *
 * `npx sst deploy --stage prod` deploys it; `npx sst dev` deploys the shared resources and runs the
 * web app and the services locally with the commands under `dev`. The offline tests in tests/infra/
 * evaluate this file under Pulumi mocks and assert the resource graph (README, "Deploy to AWS").
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
    // sst.config.ts may not import at top level; the service table is shared with the tests.
    const { INFERENCE_SERVICES, WEB_PORT } = await import('./infra/services')
    const prod = $app.stage === 'prod'
    const region = aws.getRegionOutput().name
    const retention = prod ? '1 month' : '1 week'
    /** SST's execution role may read every SSM parameter and secret; these tasks read none. */
    const withoutSecretReads = (args: aws.iam.RoleArgs) => {
      args.inlinePolicies = []
      return undefined
    }
    const limits = { MAX_INPUT_BYTES: String(25 * 1024 * 1024), MAX_INPUT_PIXELS: '16000000', MAX_OUTPUT_PIXELS: '64000000' }

    // ---- Network: containers in private subnets; NAT only for outbound (ECR pulls, Cognito JWKS).
    const vpc = new sst.aws.Vpc('Vpc', { az: 2, nat: prod ? 'managed' : 'ec2' })
    // S3 traffic from the private subnets goes through a free gateway endpoint instead of the NAT.
    new aws.ec2.VpcEndpoint('S3Endpoint', {
      vpcId: vpc.id,
      serviceName: $interpolate`com.amazonaws.${region}.s3`,
      vpcEndpointType: 'Gateway',
      routeTableIds: vpc.nodes.privateRouteTables.apply((tables) => tables.map((t) => t.id)),
    })
    const cluster = new sst.aws.Cluster('Cluster', {
      vpc: {
        id: vpc.id,
        securityGroups: vpc.securityGroups, // ingress only from inside the VPC (SST's VPC default)
        containerSubnets: vpc.privateSubnets,
        loadBalancerSubnets: vpc.privateSubnets, // the only load balancer is internal (CloudFront VPC origin)
        cloudmapNamespaceId: vpc.nodes.cloudmapNamespace.id,
        cloudmapNamespaceName: vpc.nodes.cloudmapNamespace.name,
      },
    })

    // ---- Users: Cognito user pool and the web app's public client (no secret; USER_PASSWORD_AUTH from the server).
    const userPool = new sst.aws.CognitoUserPool('UserPool', {
      usernames: ['email'],
      transform: {
        userPool: (args) => {
          args.passwordPolicy = {
            minimumLength: 12,
            requireLowercase: false,
            requireUppercase: false,
            requireNumbers: false,
            requireSymbols: false,
            temporaryPasswordValidityDays: 3,
          }
          args.autoVerifiedAttributes = ['email']
          args.accountRecoverySetting = { recoveryMechanisms: [{ name: 'verified_email', priority: 1 }] }
          args.verificationMessageTemplate = { defaultEmailOption: 'CONFIRM_WITH_CODE' }
          args.deletionProtection = prod ? 'ACTIVE' : 'INACTIVE'
        },
      },
    })
    const webClient = userPool.addClient('WebClient', {
      transform: {
        client: (args) => {
          // Server-side password sign-in, refresh and revocation only; no hosted UI / OAuth flows.
          args.explicitAuthFlows = ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']
          args.allowedOauthFlowsUserPoolClient = false
          args.allowedOauthFlows = undefined
          args.allowedOauthScopes = undefined
          args.callbackUrls = undefined
          args.supportedIdentityProviders = ['COGNITO']
          args.generateSecret = false
          args.preventUserExistenceErrors = 'ENABLED'
          args.enableTokenRevocation = true
          args.accessTokenValidity = 60
          args.idTokenValidity = 60
          args.refreshTokenValidity = 30
          args.tokenValidityUnits = { accessToken: 'minutes', idToken: 'minutes', refreshToken: 'days' }
        },
      },
    })
    const issuer = $interpolate`https://cognito-idp.${region}.amazonaws.com/${userPool.id}`
    const auth = new sst.Linkable('Auth', { properties: { userPoolId: userPool.id, clientId: webClient.id, issuer, region } })
    const cognitoEnv = { COGNITO_REGION: region, COGNITO_USER_POOL_ID: userPool.id, COGNITO_CLIENT_ID: webClient.id, COGNITO_ISSUER: issuer }

    // ---- Blobs: uploads and results, private, encrypted, TLS-only (SST default), expiring.
    const bucket = new sst.aws.Bucket('StorageBucket', {
      lifecycle: [
        { id: 'expire-user-data', prefix: 'users/', expiresIn: prod ? '30 days' : '7 days' },
      ],
      transform: {
        lifecycle: (args) => {
          // Parts of uploads that never completed cost money and are invisible: drop them after a day.
          args.rules = $output(args.rules).apply((rules) => [
            ...(rules ?? []),
            { id: 'abort-incomplete-uploads', status: 'Enabled', filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
          ])
        },
      },
    })
    new aws.s3.BucketServerSideEncryptionConfigurationV2('StorageBucketEncryption', {
      bucket: bucket.name,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }],
    })
    const storage = new sst.Linkable('Storage', { properties: { bucket: bucket.name } })

    // ---- Jobs queue (the orchestrator's runner; issue 5). Longer than a job may run, so a job is not handed out twice.
    const deadLetters = new sst.aws.Queue('JobsDeadLetters', {
      transform: { queue: { messageRetentionSeconds: 14 * 24 * 3600, sqsManagedSseEnabled: true } },
    })
    const jobsQueue = new sst.aws.Queue('JobsQueue', {
      visibilityTimeout: '20 minutes',
      dlq: { queue: deadLetters.arn, retry: 3 },
      transform: { queue: { messageRetentionSeconds: 4 * 24 * 3600, sqsManagedSseEnabled: true } },
    })
    const jobs = new sst.Linkable('Jobs', { properties: { url: jobsQueue.url, deadLetterUrl: deadLetters.url } })

    // ---- Inference services: private only, found through Cloud Map, no AWS permissions at all.
    const inference = Object.entries(INFERENCE_SERVICES).map(([name, spec]) => {
      const health = ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${spec.port}/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`]
      const service = new sst.aws.Service(spec.resource, {
        cluster,
        architecture: 'x86_64',
        cpu: spec.cpu,
        memory: spec.memory,
        image: { context: '.', dockerfile: 'infra/docker/inference.Dockerfile', args: { SERVICE_ENTRY: spec.entry } },
        environment: {
          ...cognitoEnv,
          ...limits,
          HOST: '0.0.0.0',
          PORT: String(spec.port),
          ORT_INTRA_OP_THREADS: String(parseInt(spec.cpu)),
          MAX_CONCURRENT_RUNS: '1',
          LOG_LEVEL: 'info',
        },
        health: { command: health, startPeriod: '120 seconds', interval: '30 seconds', timeout: '5 seconds', retries: 3 },
        // Outside prod, Fargate Spot (about 70% cheaper); a reclaimed task only means a retried job.
        capacity: prod ? undefined : 'spot',
        scaling: { min: 1, max: prod ? 4 : 1, cpuUtilization: 60, memoryUtilization: false, scaleOutCooldown: '60 seconds', scaleInCooldown: '300 seconds' },
        logging: { retention },
        transform: { executionRole: withoutSecretReads },
        dev: { command: `npx tsx ${spec.entry}` },
      })
      return { name, spec, service }
    })

    // ---- The orchestrator: Nuxt/Nitro server with tRPC, a long-running container (README explains why not Lambda).
    const serviceUrls = Object.fromEntries(
      inference.map(({ spec, service }) => [spec.urlsEnv, $dev ? `http://127.0.0.1:${spec.port}` : $interpolate`http://${service.service}:${spec.port}`]),
    )
    const cloudfrontOriginFacing = aws.ec2.getManagedPrefixListOutput({ name: 'com.amazonaws.global.cloudfront.origin-facing' })
    const web = new sst.aws.Service('Web', {
      cluster,
      architecture: 'x86_64',
      cpu: '1 vCPU',
      memory: '2 GB',
      image: { context: '.', dockerfile: 'infra/docker/web.Dockerfile' },
      link: [auth, storage, jobs, ...inference.map(({ service }) => service)],
      permissions: [
        { actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], resources: [$interpolate`${bucket.arn}/users/*`] },
        { actions: ['s3:ListBucket'], resources: [bucket.arn] },
        {
          actions: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
          resources: [jobsQueue.arn],
        },
      ],
      environment: {
        ...cognitoEnv,
        ...limits,
        ...serviceUrls,
        HOST: '0.0.0.0',
        PORT: String(WEB_PORT),
        NODE_ENV: 'production',
        AUTH_AUTO_CONFIRM: '0',
        DATA_DIR: '/data',
        STORAGE_BUCKET: bucket.name,
        JOB_QUEUE_URL: jobsQueue.url,
        // The queue's visibility timeout (20 min): heartbeats extend a claim while a job runs.
        JOB_QUEUE_VISIBILITY_TIMEOUT_S: '1200',
        JOB_TIMEOUT_MS: String(15 * 60_000),
        MAX_JOB_ATTEMPTS: '3',
        LOG_LEVEL: 'info',
      },
      loadBalancer: {
        public: false,
        rules: [{ listen: '80/http', forward: `${WEB_PORT}/http` }],
        // Liveness of the web server itself; /api/health also checks the services and would take the site down with them.
        health: { [`${WEB_PORT}/http` as const]: { path: '/', interval: '15 seconds', healthyThreshold: 2, unhealthyThreshold: 3, successCodes: '200' } } as const,
      },
      // Jobs and blobs live in SQS and S3, so replicas share nothing on disk and can scale out.
      scaling: { min: 1, max: prod ? 4 : 1, cpuUtilization: 60, memoryUtilization: false },
      logging: { retention },
      transform: {
        executionRole: withoutSecretReads,
        loadBalancerSecurityGroup: (args) => {
          // Only CloudFront (the VPC origin) may reach the load balancer, and only on the listener port.
          args.ingress = [{ protocol: 'tcp', fromPort: 80, toPort: 80, prefixListIds: [cloudfrontOriginFacing.id] }]
        },
        loadBalancer: { idleTimeout: 120, dropInvalidHeaderFields: true },
      },
      dev: { command: 'npx nuxt dev', directory: '.' },
    })

    const alerts = new aws.sns.Topic('Alerts', {})
    if (process.env.ALERT_EMAIL) new aws.sns.TopicSubscription('AlertsEmail', { topic: alerts.arn, protocol: 'email', endpoint: process.env.ALERT_EMAIL })
    const alarm = (name: string, args: Omit<aws.cloudwatch.MetricAlarmArgs, 'alarmActions' | 'okActions'>) =>
      new aws.cloudwatch.MetricAlarm(name, { treatMissingData: 'notBreaching', ...args, alarmActions: [alerts.arn], okActions: [alerts.arn] })

    alarm('JobsQueueDepth', {
      alarmDescription: 'More than 50 jobs waiting for 15 minutes: the services cannot keep up.',
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: jobsQueue.nodes.queue.name },
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 3,
      threshold: 50,
      comparisonOperator: 'GreaterThanThreshold',
    })
    alarm('JobsOldestMessage', {
      alarmDescription: 'A job has waited more than 15 minutes to start.',
      namespace: 'AWS/SQS',
      metricName: 'ApproximateAgeOfOldestMessage',
      dimensions: { QueueName: jobsQueue.nodes.queue.name },
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 900,
      comparisonOperator: 'GreaterThanThreshold',
    })
    alarm('JobsDeadLetters', {
      alarmDescription: 'Jobs failed every attempt and landed in the dead-letter queue.',
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: deadLetters.nodes.queue.name },
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
    })

    // In `sst dev` the services run locally: no containers, load balancer or edge to put in front of them.
    if ($dev) return { userPoolId: userPool.id, clientId: webClient.id, bucket: bucket.name, queue: jobsQueue.url }

    const loadBalancer = web.nodes.loadBalancer
    for (const [metricName, what] of [
      ['HTTPCode_Target_5XX_Count', 'The web server answered'],
      ['HTTPCode_ELB_5XX_Count', 'The load balancer answered (no healthy web task?)'],
    ] as const)
      alarm(`Web${metricName.includes('ELB') ? 'LoadBalancer' : 'Server'}5xx`, {
        alarmDescription: `${what} more than 10 5xx responses in 5 minutes.`,
        namespace: 'AWS/ApplicationELB',
        metricName,
        dimensions: { LoadBalancer: loadBalancer.arnSuffix },
        statistic: 'Sum',
        period: 300,
        evaluationPeriods: 1,
        threshold: 10,
        comparisonOperator: 'GreaterThanThreshold',
      })

    // ---- Edge: CloudFront is the only public entry; WAF (CloudFront scope lives in us-east-1) rate-limits it.
    const usEast1 = new aws.Provider('UsEast1', { region: 'us-east-1' })
    const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName })
    const firewall = new aws.wafv2.WebAcl(
      'Firewall',
      {
        scope: 'CLOUDFRONT',
        defaultAction: { allow: {} },
        visibilityConfig: visibility('restora-firewall'),
        rules: [
          {
            name: 'RateLimitPerIp',
            priority: 1,
            action: { block: {} },
            statement: { rateBasedStatement: { limit: 2000, evaluationWindowSec: 300, aggregateKeyType: 'IP' } },
            visibilityConfig: visibility('rate-limit-per-ip'),
          },
          {
            // Sign-in and sign-up are where password guessing happens: a much lower limit there.
            name: 'RateLimitAuthPerIp',
            priority: 2,
            action: { block: {} },
            statement: {
              rateBasedStatement: {
                limit: 100,
                evaluationWindowSec: 300,
                aggregateKeyType: 'IP',
                scopeDownStatement: {
                  byteMatchStatement: {
                    searchString: '/api/trpc/auth.',
                    positionalConstraint: 'STARTS_WITH',
                    fieldToMatch: { uriPath: {} },
                    textTransformations: [{ priority: 0, type: 'NONE' }],
                  },
                },
              },
            },
            visibilityConfig: visibility('rate-limit-auth-per-ip'),
          },
          {
            name: 'AmazonIpReputation',
            priority: 3,
            overrideAction: { none: {} },
            statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: 'AWSManagedRulesAmazonIpReputationList' } },
            visibilityConfig: visibility('ip-reputation'),
          },
        ],
      },
      { provider: usEast1 },
    )

    const webOrigin = new aws.cloudfront.VpcOrigin('WebVpcOrigin', {
      vpcOriginEndpointConfig: {
        name: `${$app.name}-${$app.stage}-web`,
        arn: loadBalancer.arn,
        httpPort: 80,
        httpsPort: 443,
        originProtocolPolicy: 'http-only',
        originSslProtocols: { items: ['TLSv1.2'], quantity: 1 },
      },
    })
    // AWS managed policies (fixed ids): never cache the API or pages; cache hashed build assets for a year.
    const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad'
    const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6'
    const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac'
    const distribution = new aws.cloudfront.Distribution('Cdn', {
      enabled: true,
      comment: `Restora ${$app.stage}`,
      httpVersion: 'http2and3',
      isIpv6Enabled: true,
      priceClass: 'PriceClass_100',
      webAclId: firewall.arn,
      origins: [
        {
          originId: 'web',
          domainName: loadBalancer.dnsName,
          vpcOriginConfig: { vpcOriginId: webOrigin.id, originReadTimeout: 60, originKeepaliveTimeout: 5 },
        },
      ],
      defaultCacheBehavior: {
        targetOriginId: 'web',
        viewerProtocolPolicy: 'redirect-to-https',
        allowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE'],
        cachedMethods: ['GET', 'HEAD'],
        compress: true,
        cachePolicyId: CACHING_DISABLED,
        originRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
      },
      orderedCacheBehaviors: [
        {
          pathPattern: '/_nuxt/*',
          targetOriginId: 'web',
          viewerProtocolPolicy: 'redirect-to-https',
          allowedMethods: ['GET', 'HEAD'],
          cachedMethods: ['GET', 'HEAD'],
          compress: true,
          cachePolicyId: CACHING_OPTIMIZED,
        },
      ],
      restrictions: { geoRestriction: { restrictionType: 'none' } },
      viewerCertificate: { cloudfrontDefaultCertificate: true },
    })

    return {
      url: $interpolate`https://${distribution.domainName}`,
      userPoolId: userPool.id,
      clientId: webClient.id,
      bucket: bucket.name,
      queue: jobsQueue.url,
    }
  },
})
