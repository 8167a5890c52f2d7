// Runs inside the bundle that tests/infra/evaluate-sst-config.ts builds (never imported by vitest):
// installs Pulumi mocks before sst.config.ts runs, records every resource it registers, and
// answers the few data-source calls SST makes with fixed values of a fake account.
import * as pulumi from '@pulumi/pulumi'
import { writeFileSync } from 'node:fs'

import type { RecordedResource } from './evaluate-sst-config'

const ACCOUNT = '123456789012'
const REGION = process.env.MOCK_AWS_REGION ?? 'us-east-1'
const resources: RecordedResource[] = []
const calls = new Set<string>()

/** Outputs a few resources compute in AWS that sst.config.ts reads (a database's endpoint, a generated password). */
function computed(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
  switch (type) {
    case 'aws:rds/instance:Instance': {
      const address = `${name.toLowerCase()}.c0mock0000000.${REGION}.rds.amazonaws.com`
      const port = inputs.port ?? 5432
      return { address, port, endpoint: `${address}:${port}`, identifier: inputs.identifier ?? name.toLowerCase() }
    }
    case 'random:index/randomPassword:RandomPassword':
      // Characters a URL must escape, so the tests see that the connection string encodes them.
      return { result: 'mock/Pass+word=with@odd:chars%' }
    default:
      return {}
  }
}

/** The IAM JSON document that aws.iam.getPolicyDocument would build from these statements. */
function policyDocument(statements: any[] = []) {
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((s) => ({
      ...(s.sid ? { Sid: s.sid } : {}),
      Effect: cap(s.effect ?? 'Allow'),
      Action: s.actions,
      Resource: s.resources,
      ...(s.conditions?.length ? { Condition: s.conditions } : {}),
    })),
  })
}

pulumi.runtime.setMocks(
  {
    newResource(args) {
      resources.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs: args.inputs })
      const id = `${args.name}-id`
      const arn = `arn:aws:mock:${REGION}:${ACCOUNT}:${args.type.split(':').pop()}/${args.name}`
      return {
        id,
        state: {
          ...args.inputs,
          arn,
          name: args.inputs.name ?? args.name,
          bucket: args.inputs.bucket ?? `${args.name.toLowerCase()}-bucket`,
          url: args.inputs.url ?? `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${args.name}`,
          dnsName: `${args.name.toLowerCase()}.elb.amazonaws.com`,
          domainName: `${args.name.toLowerCase()}.cloudfront.net`,
          arnSuffix: `app/${args.name}/0123456789abcdef`,
          cidrBlock: args.inputs.cidrBlock ?? '10.0.0.0/16',
          digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000',
          ...computed(args.type, args.name, args.inputs),
        },
      }
    },
    call(args) {
      calls.add(args.token)
      switch (args.token) {
        case 'aws:index/getRegion:getRegion':
          return { name: REGION, id: REGION, region: REGION, endpoint: `ec2.${REGION}.amazonaws.com` }
        case 'aws:index/getPartition:getPartition':
          return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws' }
        case 'aws:index/getCallerIdentity:getCallerIdentity':
          return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/mock`, userId: 'MOCK', id: ACCOUNT }
        case 'aws:index/getAvailabilityZones:getAvailabilityZones':
          return { names: ['a', 'b', 'c'].map((z) => REGION + z), zoneIds: ['use1-az1', 'use1-az2', 'use1-az3'], id: REGION }
        case 'aws:iam/getPolicyDocument:getPolicyDocument':
          return { json: policyDocument(args.inputs.statements), statements: args.inputs.statements, id: 'policy' }
        case 'aws:ec2/getManagedPrefixList:getManagedPrefixList':
          return { id: 'pl-3b927c52', name: args.inputs.name, entries: [] }
        case 'aws:ecr/getAuthorizationToken:getAuthorizationToken':
          return { proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`, password: 'mock', userName: 'AWS', id: 'token' }
        case 'aws:ec2/getAmi:getAmi':
          return { id: 'ami-0123456789abcdef0', architecture: 'arm64' }
        default:
          return {}
      }
    },
  },
  'restora',
  process.env.MOCK_STAGE ?? 'ci',
  false,
)

/** Waits until every output has settled, then writes what was registered as JSON. */
export async function dump(outputs: Record<string, unknown>, file: string) {
  const resolved = await new Promise((resolve) => pulumi.output(outputs).apply(resolve))
  // Resources created inside apply() callbacks register later than the program returns.
  let count = -1
  while (count !== resources.length) {
    count = resources.length
    await new Promise((r) => setTimeout(r, 200))
  }
  // Component outputs (e.g. the `_dev` commands of sst.aws.Service) as the mock monitor stored them.
  const monitor = (pulumi.runtime as any).getMonitor?.()
  const componentOutputs: Record<string, unknown> = {}
  for (const [urn, entry] of monitor?.resources ?? []) {
    const state = entry.state?.toJavaScript ? entry.state.toJavaScript() : entry.state
    if (state?._dev) componentOutputs[urn] = state
  }
  writeFileSync(file, JSON.stringify({ outputs: resolved, resources, calls: [...calls], componentOutputs }, null, 1))
}
