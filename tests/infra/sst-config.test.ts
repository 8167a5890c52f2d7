// sst.config.ts evaluated offline, as `sst deploy` would run it but with Pulumi's mocks for AWS,
// and the resource graph it registers checked for the settings the system relies on.
import { beforeAll, describe, expect, it } from 'vitest'
import { INFERENCE_SERVICES } from '../../infra/services'
import { evaluateSstConfig, type Graph } from './evaluate-sst-config'

type Evaluated = Awaited<ReturnType<typeof evaluateSstConfig>>
let prod: Evaluated
let dev: Evaluated
/** `sst dev`: shared resources deployed, the web app and services run locally. */
let local: Evaluated

const SECRET_SIG = '4dabf18193072939515e22adb298388d'
/** Pulumi marks values derived from secrets with a signature key; the graph test reads through it. */
const unwrap = (value: any): any => (value && typeof value === 'object' && SECRET_SIG in value ? value.value : value)
const all = (graph: Graph, type: string) => graph.resources.filter((r) => r.type === type)
/** The only resource of a type (fails if there is not exactly one). */
const only = (graph: Graph, type: string) => {
  const found = all(graph, type)
  expect(found, type).toHaveLength(1)
  return found[0]!
}
const one = (graph: Graph, type: string, name: string) => {
  const found = graph.resources.find((r) => r.type === type && r.name === name)
  if (!found)
    throw new Error(
      `no ${type} named ${name}; have: ${all(graph, type)
        .map((r) => r.name)
        .join(', ')}`,
    )
  return found
}
const containerOf = (graph: Graph, service: string) =>
  JSON.parse(unwrap(one(graph, 'aws:ecs/taskDefinition:TaskDefinition', `${service}Task`).inputs.containerDefinitions))[0]
const envOf = (graph: Graph, service: string): Record<string, string> =>
  Object.fromEntries(containerOf(graph, service).environment.map((e: { name: string; value: string }) => [e.name, e.value]))
const statementsOf = (graph: Graph, role: string) =>
  (one(graph, 'aws:iam/role:Role', role).inputs.inlinePolicies ?? []).flatMap((p: { policy: string }) => JSON.parse(unwrap(p.policy)).Statement)
const SERVICES = Object.values(INFERENCE_SERVICES)
/** Variables SST's `link` writes (SST_RESOURCE_App it writes for every task, linked or not). */
const linkVariables = (env: Record<string, unknown>) => Object.keys(env).filter((n) => n.startsWith('SST_RESOURCE_') && n !== 'SST_RESOURCE_App')
const devCommands = (graph: Graph) => Object.values(graph.componentOutputs).map((c: any) => c._dev)

beforeAll(async () => {
  prod = await evaluateSstConfig({ stage: 'prod' })
  dev = await evaluateSstConfig({ stage: 'dev' })
  local = await evaluateSstConfig({ stage: 'alice', dev: true })
}, 240_000)

describe('sst.config.ts under Pulumi mocks', () => {
  it('defines the whole system and exports the public URL', () => {
    for (const [type, count] of [
      ['aws:ec2/vpc:Vpc', 1],
      ['aws:ecs/cluster:Cluster', 1],
      ['aws:cognito/userPool:UserPool', 1],
      ['aws:cognito/userPoolClient:UserPoolClient', 1],
      ['aws:s3/bucketV2:BucketV2', 1],
      ['aws:sqs/queue:Queue', 2],
      ['aws:rds/instance:Instance', 1],
      ['aws:ecs/service:Service', SERVICES.length + 1],
      ['aws:lb/loadBalancer:LoadBalancer', 1],
      ['aws:cloudfront/distribution:Distribution', 1],
      ['aws:wafv2/webAcl:WebAcl', 1],
    ] as const)
      expect(all(prod, type), type).toHaveLength(count)
    expect(prod.outputs.url).toMatch(/^https:\/\/.+\.cloudfront\.net$/)
    expect(prod.outputs._protect).toBe(true)
    expect(dev.outputs._protect).toBe(false)
  })

  it('Cognito: email usernames, 12+ character passwords, verified email, a public client with short-lived tokens', () => {
    const pool = one(prod, 'aws:cognito/userPool:UserPool', 'UserPoolUserPool').inputs
    expect(pool.usernameAttributes).toEqual(['email'])
    expect(pool.autoVerifiedAttributes).toEqual(['email'])
    expect(pool.passwordPolicy.minimumLength).toBeGreaterThanOrEqual(12)
    expect(pool.deletionProtection).toBe('ACTIVE')
    expect(one(dev, 'aws:cognito/userPool:UserPool', 'UserPoolUserPool').inputs.deletionProtection).toBe('INACTIVE')
    const client = one(prod, 'aws:cognito/userPoolClient:UserPoolClient', 'WebClientClient').inputs
    expect(client.explicitAuthFlows.sort()).toEqual(['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_PASSWORD_AUTH'])
    expect(client.generateSecret).toBe(false)
    expect(client.enableTokenRevocation).toBe(true)
    expect(client.preventUserExistenceErrors).toBe('ENABLED')
    expect(client.accessTokenValidity).toBe(60)
    expect(client.tokenValidityUnits.accessToken).toBe('minutes')
  })

  it('S3: public access blocked, encrypted at rest, TLS enforced, user data expires', () => {
    const block = only(prod, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').inputs
    expect(block).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true })
    const sse = only(prod, 'aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2').inputs
    expect(sse.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).toBe('AES256')
    const policy = JSON.parse(unwrap(only(prod, 'aws:s3/bucketPolicy:BucketPolicy').inputs.policy))
    expect(policy.Statement).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: expect.anything() }))
    expect(JSON.stringify(policy)).toContain('aws:SecureTransport')
    const rules = (graph: Graph) => only(graph, 'aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2').inputs.rules
    expect(rules(prod)).toContainEqual(expect.objectContaining({ filter: { prefix: 'users/' }, expiration: { days: 30 }, status: 'Enabled' }))
    expect(rules(dev)).toContainEqual(expect.objectContaining({ filter: { prefix: 'users/' }, expiration: { days: 7 } }))
    expect(rules(prod)).toContainEqual(expect.objectContaining({ abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } }))
  })

  it('SQS: jobs queue outlives a job run, retries 3 times into an encrypted dead-letter queue', () => {
    const queue = one(prod, 'aws:sqs/queue:Queue', 'JobsQueueQueue').inputs
    expect(queue.visibilityTimeoutSeconds).toBe(20 * 60)
    expect(queue.visibilityTimeoutSeconds * 1000).toBeGreaterThan(Number(envOf(prod, 'Web').JOB_TIMEOUT_MS))
    expect(queue.sqsManagedSseEnabled).toBe(true)
    expect(JSON.parse(queue.redrivePolicy)).toMatchObject({ maxReceiveCount: 3, deadLetterTargetArn: expect.stringContaining('JobsDeadLetters') })
    expect(one(prod, 'aws:sqs/queue:Queue', 'JobsDeadLettersQueue').inputs.sqsManagedSseEnabled).toBe(true)
  })

  it('the web tier reads the client address behind CloudFront and the load balancer, never from a client-set hop', () => {
    expect(envOf(prod, 'Web').TRUSTED_PROXY_HOPS).toBe('2')
    expect(envOf(dev, 'Web').TRUSTED_PROXY_HOPS).toBe('2')
  })

  it('every container runs in private subnets without a public IP, with a log group that expires', () => {
    const privateSubnets = all(prod, 'aws:ec2/subnet:Subnet')
      .filter((s) => s.name.includes('Private'))
      .map((s) => `${s.name}-id`)
    expect(privateSubnets).toHaveLength(2)
    for (const service of all(prod, 'aws:ecs/service:Service')) {
      expect(service.inputs.networkConfiguration.assignPublicIp, service.name).toBe(false)
      expect(service.inputs.networkConfiguration.subnets.sort(), service.name).toEqual(privateSubnets.sort())
    }
    const logGroups = all(prod, 'aws:cloudwatch/logGroup:LogGroup')
    expect(logGroups).toHaveLength(SERVICES.length + 1)
    for (const group of logGroups) expect(group.inputs.retentionInDays, group.name).toBe(30)
    for (const group of all(dev, 'aws:cloudwatch/logGroup:LogGroup')) expect(group.inputs.retentionInDays, group.name).toBe(7)
    // The VPC's security group only lets traffic in from inside the VPC.
    const sg = only(prod, 'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup').inputs
    expect(sg.ingress.map((r: { cidrBlocks: string[] }) => r.cidrBlocks)).toEqual([['10.0.0.0/16']])
    const s3 = only(prod, 'aws:ec2/vpcEndpoint:VpcEndpoint').inputs
    expect(s3).toMatchObject({ serviceName: 'com.amazonaws.us-east-1.s3', vpcEndpointType: 'Gateway' })
    expect(s3.routeTableIds).toHaveLength(2)
  })

  it('inference services: one Fargate service per task, built from the shared Dockerfile, healthy only when /readyz is, found via Cloud Map', () => {
    for (const spec of SERVICES) {
      const image = one(prod, 'docker-build:index:Image', `${spec.resource}Image${spec.resource}`).inputs
      expect(image.dockerfile.location).toMatch(/infra\/docker\/inference\.Dockerfile$/)
      expect(image.buildArgs).toEqual({ SERVICE_TASK: spec.task })
      expect(image.platforms).toEqual(['linux/amd64'])
      const container = containerOf(prod, spec.resource)
      expect(container.healthCheck.command.join(' ')).toContain(`http://127.0.0.1:${spec.port}/readyz`)
      const env = envOf(prod, spec.resource)
      expect(env).toMatchObject({
        PORT: String(spec.port),
        HOST: '0.0.0.0',
        COGNITO_ISSUER: expect.stringMatching(/^https:\/\/cognito-idp\.us-east-1\.amazonaws\.com\/.+/),
      })
      expect(env.COGNITO_ENDPOINT).toBeUndefined()
      const task = one(prod, 'aws:ecs/taskDefinition:TaskDefinition', `${spec.resource}Task`).inputs
      expect({ cpu: task.cpu, memory: task.memory }).toEqual({ cpu: String(parseInt(spec.cpu, 10) * 1024), memory: String(parseInt(spec.memory, 10) * 1024) })
      expect(one(prod, 'aws:servicediscovery/service:Service', `${spec.resource}CloudmapService`).inputs.name).toBe(`${spec.resource}.prod.restora`)
      const scaling = one(prod, 'aws:appautoscaling/target:Target', `${spec.resource}AutoScalingTarget`).inputs
      expect(scaling).toMatchObject({ minCapacity: 1, maxCapacity: 4 })
      expect(one(dev, 'aws:appautoscaling/target:Target', `${spec.resource}AutoScalingTarget`).inputs.maxCapacity).toBe(1)
      expect(one(dev, 'aws:ecs/service:Service', `${spec.resource}Service`).inputs.capacityProviderStrategies).toContainEqual(
        expect.objectContaining({ capacityProvider: 'FARGATE_SPOT', weight: 1 }),
      )
      expect(one(prod, 'aws:ecs/service:Service', `${spec.resource}Service`).inputs.launchType).toBe('FARGATE')
      expect(
        one(prod, 'aws:appautoscaling/policy:Policy', `${spec.resource}AutoScalingCpuPolicy`).inputs.targetTrackingScalingPolicyConfiguration.targetValue,
      ).toBe(60)
    }
  })

  it('orchestrator: reads every setting from its environment, service URLs point at Cloud Map names, nothing handed twice through links', () => {
    const env = envOf(prod, 'Web')
    for (const spec of SERVICES) expect(env[spec.urlsEnv]).toBe(`http://${spec.resource}.prod.restora.sst:${spec.port}`)
    expect(env).toMatchObject({
      COGNITO_REGION: 'us-east-1',
      AUTH_AUTO_CONFIRM: '0',
      PORT: '3000',
      HOST: '0.0.0.0',
      DATA_DIR: '/data',
      MAX_INPUT_BYTES: String(25 * 1024 * 1024),
    })
    expect(env.COGNITO_ENDPOINT).toBeUndefined()
    expect(env.COGNITO_ISSUER).toBe(`https://cognito-idp.us-east-1.amazonaws.com/${env.COGNITO_USER_POOL_ID}`)
    expect(env.STORAGE_BUCKET).toMatch(/^restora-prod-storagebucket/)
    expect(env.JOB_QUEUE_URL).toContain('JobsQueue')
    expect(env.JOB_QUEUE_VISIBILITY_TIMEOUT_S).toBe('1200')
    // What the links carried (Storage, Jobs, Auth, the services), now only as the variables server/config.ts reads.
    expect(env.STORAGE_BUCKET).toBe(one(prod, 'aws:s3/bucketV2:BucketV2', 'StorageBucketBucket').inputs.bucket)
    expect(env.JOB_QUEUE_URL).toBe('https://sqs.us-east-1.amazonaws.com/123456789012/JobsQueueQueue')
    expect([env.COGNITO_USER_POOL_ID, env.COGNITO_CLIENT_ID]).toEqual(['UserPoolUserPool-id', 'WebClientClient-id'])
    expect(env.UPSCALE_SERVICE_URLS).toBe('http://Upscale.prod.restora.sst:8101')
    for (const graph of [prod, dev]) {
      for (const service of ['Web', ...SERVICES.map((s) => s.resource)]) expect(linkVariables(envOf(graph, service)), service).toEqual([])
      expect(all(graph, 'sst:sst:Linkable').map((r) => r.name)).toEqual([])
    }
    // Job records live in PostgreSQL, blobs in S3, work in SQS: nothing on the task's disk, so it scales out.
    expect(one(prod, 'aws:appautoscaling/target:Target', 'WebAutoScalingTarget').inputs).toMatchObject({ minCapacity: 1, maxCapacity: 4 })
  })

  it('RDS for PostgreSQL: private, encrypted, backed up, TLS only; protected with a final snapshot in prod', () => {
    for (const [graph, isProd] of [
      [prod, true],
      [dev, false],
    ] as const) {
      const privateSubnets = all(graph, 'aws:ec2/subnet:Subnet')
        .filter((s) => s.name.includes('Private'))
        .map((s) => `${s.name}-id`)
      expect(privateSubnets).toHaveLength(2)
      const db = only(graph, 'aws:rds/instance:Instance').inputs
      expect(db).toMatchObject({
        engine: 'postgres',
        storageEncrypted: true,
        publiclyAccessible: false,
        storageType: 'gp3',
        allocatedStorage: 20,
        instanceClass: 'db.t4g.micro',
      })
      expect(Number.parseInt(db.engineVersion, 10)).toBeGreaterThanOrEqual(15)
      expect(db.backupRetentionPeriod).toBe(isProd ? 7 : 1)
      expect(db.deletionProtection).toBe(isProd)
      expect(db.skipFinalSnapshot).toBe(!isProd)
      if (isProd) expect(db.finalSnapshotIdentifier).toBe('restora-prod-database-final')
      expect(db.multiAz).toBe(isProd)
      expect(db.maxAllocatedStorage).toBeGreaterThanOrEqual(db.allocatedStorage)
      // The generated password (RandomPassword), never one written in the config.
      expect(only(graph, 'random:index/randomPassword:RandomPassword').inputs.length).toBeGreaterThanOrEqual(32)
      const subnetGroup = only(graph, 'aws:rds/subnetGroup:SubnetGroup').inputs
      expect(db.dbSubnetGroupName).toBe(subnetGroup.name)
      expect([...subnetGroup.subnetIds].sort()).toEqual(privateSubnets.sort())
      const parameters = only(graph, 'aws:rds/parameterGroup:ParameterGroup').inputs
      expect(parameters.family).toBe(`postgres${Number.parseInt(db.engineVersion, 10)}`)
      expect(parameters.parameters).toContainEqual({ name: 'rds.force_ssl', value: '1' })
      expect(db.parameterGroupName).toBe(parameters.name)
    }
  })

  it("database network: port 5432 admitted only from the Web tasks' security group, which no other service carries", () => {
    for (const graph of [prod, dev]) {
      const db = only(graph, 'aws:rds/instance:Instance').inputs
      expect(db.vpcSecurityGroupIds).toEqual(['DatabaseSecurityGroup-id'])
      const sg = one(graph, 'aws:ec2/securityGroup:SecurityGroup', 'DatabaseSecurityGroup').inputs
      expect(sg.ingress).toEqual([expect.objectContaining({ protocol: 'tcp', fromPort: 5432, toPort: 5432, securityGroups: ['WebSecurityGroup-id'] })])
      expect(sg.ingress[0].cidrBlocks ?? []).toEqual([])
      expect(sg.egress).toEqual([])
      const webSg = one(graph, 'aws:ec2/securityGroup:SecurityGroup', 'WebSecurityGroup').inputs
      expect([webSg.ingress, webSg.egress]).toEqual([[], []])
      const groups = (service: string) => one(graph, 'aws:ecs/service:Service', `${service}Service`).inputs.networkConfiguration.securityGroups
      // The Web tasks keep the VPC group (ingress from the load balancer) and add the database's client group.
      expect(groups('Web')).toEqual(['VpcSecurityGroup-id', 'WebSecurityGroup-id'])
      for (const spec of SERVICES) expect(groups(spec.resource), spec.resource).toEqual(['VpcSecurityGroup-id'])
    }
  })

  it('the orchestrator gets the database (TLS, URL-encoded generated password, no link); the inference services get nothing of it', () => {
    for (const graph of [prod, dev]) {
      const env = envOf(graph, 'Web')
      expect(env.SST_RESOURCE_Database).toBeUndefined()
      const db = only(graph, 'aws:rds/instance:Instance').inputs
      const password = unwrap(db.password)
      expect(password).toBe('mock/Pass+word=with@odd:chars%')
      expect(env.DATABASE_SSL).toBe('require')
      const url = new URL(env.DATABASE_URL!)
      expect(url.protocol).toBe('postgres:')
      expect(url.hostname).toMatch(/\.rds\.amazonaws\.com$/)
      expect([url.hostname, url.port, url.pathname]).toEqual(['databaseinstance.c0mock0000000.us-east-1.rds.amazonaws.com', '5432', `/${db.dbName}`])
      expect([decodeURIComponent(url.username), decodeURIComponent(url.password)]).toEqual([db.username, password])
      // The mock's password has characters a URL must escape; the raw one must not appear.
      expect(env.DATABASE_URL).not.toContain(password)
      expect(Number(env.DATABASE_POOL_SIZE) * 4).toBeLessThan(80)
      for (const spec of SERVICES) {
        const names = Object.keys(envOf(graph, spec.resource))
        expect(
          names.filter((n) => n.startsWith('DATABASE_') || n === 'SST_RESOURCE_Database'),
          spec.resource,
        ).toEqual([])
      }
    }
  })

  it('`sst dev` creates no database: the local web app runs without DATABASE_URL on its embedded PGlite', () => {
    expect(all(local, 'aws:rds/instance:Instance')).toEqual([])
    expect(all(local, 'aws:ec2/securityGroup:SecurityGroup').map((g) => g.name)).not.toContain('DatabaseSecurityGroup')
    const web = devCommands(local).find((d) => d.title === 'Web')
    expect(web).toMatchObject({ command: 'npx nuxt dev', links: [] })
    expect(web.environment).toMatchObject({ COGNITO_USER_POOL_ID: 'UserPoolUserPool-id', JOB_QUEUE_URL: expect.stringContaining('JobsQueue') })
    expect(web.environment.STORAGE_BUCKET).toMatch(/^restora-alice-storagebucket/)
    for (const spec of SERVICES) expect(web.environment[spec.urlsEnv]).toBe(`http://127.0.0.1:${spec.port}`)
    expect(web.links).not.toContain('Database')
    expect(Object.keys(web.environment).filter((n) => n.startsWith('DATABASE_'))).toEqual([])
  })

  it('IAM least privilege: the orchestrator may touch only its bucket prefix and its queue; services get no AWS access; no task reads secrets', () => {
    const ecsExec = (s: { Action: string[] }) => s.Action.every((a) => a.startsWith('ssmmessages:'))
    const web = statementsOf(prod, 'WebTaskRole').filter((s: any) => !ecsExec(s))
    expect(web.flatMap((s: any) => s.Action).sort()).toEqual(
      [
        's3:DeleteObject',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
      ].sort(),
    )
    for (const s of web) {
      expect(s.Effect).toBe('Allow')
      for (const action of s.Action) expect(action).not.toContain('*')
      for (const resource of s.Resource) expect(resource).toMatch(/StorageBucket|JobsQueue/)
    }
    for (const spec of SERVICES) expect(statementsOf(prod, `${spec.resource}TaskRole`).filter((s: any) => !ecsExec(s))).toEqual([])
    // The same statements in every stage, and `sst dev` runs the local web app as that role: no link adds any.
    for (const graph of [dev, local]) expect(statementsOf(graph, 'WebTaskRole')).toEqual(statementsOf(prod, 'WebTaskRole'))
    expect(devCommands(local).find((d) => d.title === 'Web').aws).toEqual({ role: expect.stringMatching(/Role\/WebTaskRole$/) })
    for (const role of all(prod, 'aws:iam/role:Role').filter((r) => r.name.endsWith('ExecutionRole'))) {
      expect(role.inputs.inlinePolicies, role.name).toEqual([])
      expect(role.inputs.managedPolicyArns).toEqual(['arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy'])
    }
  })

  it('public entry: CloudFront over HTTPS -> VPC origin -> internal ALB reachable only from CloudFront; WAF rate limits attached', () => {
    const lb = only(prod, 'aws:lb/loadBalancer:LoadBalancer').inputs
    expect(lb.internal).toBe(true)
    expect(lb.dropInvalidHeaderFields).toBe(true)
    const lbSg = one(prod, 'aws:ec2/securityGroup:SecurityGroup', 'WebLoadBalancerSecurityGroup').inputs
    expect(lbSg.ingress).toEqual([{ protocol: 'tcp', fromPort: 80, toPort: 80, prefixListIds: ['pl-3b927c52'] }])
    expect(prod.calls).toContain('aws:ec2/getManagedPrefixList:getManagedPrefixList')
    const target = only(prod, 'aws:lb/targetGroup:TargetGroup').inputs
    expect(target).toMatchObject({ port: 3000, protocol: 'HTTP', targetType: 'ip', healthCheck: expect.objectContaining({ path: '/' }) })

    const cdn = only(prod, 'aws:cloudfront/distribution:Distribution').inputs
    expect(cdn.origins[0].vpcOriginConfig.vpcOriginId).toBe('WebVpcOrigin-id')
    expect(cdn.defaultCacheBehavior.viewerProtocolPolicy).toBe('redirect-to-https')
    expect(cdn.orderedCacheBehaviors).toContainEqual(expect.objectContaining({ pathPattern: '/_nuxt/*', viewerProtocolPolicy: 'redirect-to-https' }))
    expect(cdn.webAclId).toMatch(/WebAcl\/Firewall$/)

    const acl = only(prod, 'aws:wafv2/webAcl:WebAcl').inputs
    expect(acl.scope).toBe('CLOUDFRONT')
    const rateRules = acl.rules.filter((r: any) => r.statement.rateBasedStatement)
    expect(rateRules.map((r: any) => [r.name, r.action, r.statement.rateBasedStatement.aggregateKeyType])).toEqual([
      ['RateLimitPerIp', { block: {} }, 'IP'],
      ['RateLimitAuthPerIp', { block: {} }, 'IP'],
    ])
    expect(rateRules[1].statement.rateBasedStatement.limit).toBeLessThan(rateRules[0].statement.rateBasedStatement.limit)
    // A CloudFront-scoped ACL must be created in us-east-1, whatever the app's region.
    expect(all(prod, 'pulumi:providers:aws').map((p) => p.inputs.region)).toContain('us-east-1')
  })

  it('alarms on 5xx and queue depth notify the alerts topic', () => {
    const alarms = all(prod, 'aws:cloudwatch/metricAlarm:MetricAlarm')
    const metrics = alarms.map((a) => `${a.inputs.namespace}/${a.inputs.metricName}`)
    expect(metrics).toEqual(
      expect.arrayContaining([
        'AWS/ApplicationELB/HTTPCode_Target_5XX_Count',
        'AWS/ApplicationELB/HTTPCode_ELB_5XX_Count',
        'AWS/SQS/ApproximateNumberOfMessagesVisible',
        'AWS/SQS/ApproximateAgeOfOldestMessage',
      ]),
    )
    for (const alarm of alarms) expect(alarm.inputs.alarmActions, alarm.name).toEqual([expect.stringMatching(/Topic\/Alerts$/)])
  })

  it('`sst dev` runs every service and the web app locally with the same environment', () => {
    const commands = devCommands(prod)
    for (const spec of SERVICES) {
      const command = `npx tsx inference/service/main.ts ${spec.task}`
      const environment = expect.objectContaining({ PORT: String(spec.port) })
      expect(commands).toContainEqual(expect.objectContaining({ title: spec.resource, command, links: [], environment }))
    }
    const environment = expect.objectContaining({ STORAGE_BUCKET: envOf(prod, 'Web').STORAGE_BUCKET, JOB_QUEUE_URL: envOf(prod, 'Web').JOB_QUEUE_URL })
    expect(commands).toContainEqual(expect.objectContaining({ title: 'Web', command: 'npx nuxt dev', links: [], environment }))
  })

  it('SST resolves its bootstrap (ECR repository) through the CLI, the only call to it offline', () => {
    expect(prod.rpcMethods.every((m) => m === 'Provider.Aws.Bootstrap')).toBe(true)
    expect(prod.rpcMethods.length).toBeGreaterThan(0)
  })
})
