/// <reference path="../.sst/platform/config.d.ts" />
import type { Access } from './containers'

/**
 * Job records: Amazon RDS for PostgreSQL in the private subnets, reachable only from the Web tasks.
 * Not in `sst dev` (returns undefined): the web app then runs without DATABASE_URL on an embedded PGlite
 * (its local default, as in `npm run dev`); SST's own `dev` option would want a local server and a password written here.
 * The tasks reach it by network (`clientSecurityGroup`) and password, so there is no IAM to grant.
 */
export function database(vpc: sst.aws.Vpc): (Access & { clientSecurityGroup: aws.ec2.SecurityGroup }) | undefined {
  if ($dev) return undefined
  const prod = $app.stage === 'prod'
  // All tasks share the VPC security group (SST's, ingress from the whole VPC CIDR). The Web tasks also
  // carry this group, with no rules of its own, so the database can admit them and nothing else.
  const clientSecurityGroup = new aws.ec2.SecurityGroup('WebSecurityGroup', {
    vpcId: vpc.id,
    description: 'Restora Web (orchestrator) tasks: the only clients the database admits',
    ingress: [],
    egress: [],
  })
  const databaseSecurityGroup = new aws.ec2.SecurityGroup('DatabaseSecurityGroup', {
    vpcId: vpc.id,
    description: 'Restora job database: PostgreSQL from the Web tasks only',
    ingress: [{ description: 'PostgreSQL from the Web tasks', protocol: 'tcp', fromPort: 5432, toPort: 5432, securityGroups: [clientSecurityGroup.id] }],
    egress: [], // RDS opens no connections of its own
  })
  const db = new sst.aws.Postgres('Database', {
    vpc, // its private subnets, as the DB subnet group
    version: '17',
    instance: 't4g.micro',
    storage: '100 GB', // 20 GB gp3 allocated (SST's fixed start); RDS grows it on demand up to this
    // A standby in the other AZ: failover in 1-2 minutes and patching without an outage, for ~$14/month.
    multiAz: prod,
    // username `postgres`, database `restora` and a 32-character random password: SST's defaults.
    transform: {
      // SST sets rds.force_ssl=0 (and turns on logical replication, which nothing here consumes): the
      // server connects with TLS (DATABASE_SSL=require), so the database refuses anything else.
      parameterGroup: (args) => {
        args.parameters = [{ name: 'rds.force_ssl', value: '1' }]
      },
      instance: (args) => {
        // Without this the instance would get the VPC's default group (every task in the VPC, all ports).
        args.vpcSecurityGroupIds = [databaseSecurityGroup.id]
        args.publiclyAccessible = false
        args.backupRetentionPeriod = prod ? 7 : 1
        // SST's defaults: no deletion protection, no final snapshot. The instance is also kept on
        // `sst remove` in prod (SST retains aws:rds/instance under `removal: 'retain'`).
        args.deletionProtection = prod
        args.skipFinalSnapshot = !prod
        args.finalSnapshotIdentifier = prod ? `${$app.name}-${$app.stage}-database-final` : undefined
        args.copyTagsToSnapshot = true
      },
    },
  })
  const encodePart = encodeURIComponent
  return {
    clientSecurityGroup,
    environment: {
      DATABASE_URL: $interpolate`postgres://${db.username.apply(encodePart)}:${db.password.apply(encodePart)}@${db.host}:${db.port}/${db.database}`,
      DATABASE_SSL: 'require',
      // Up to 4 replicas x (10 + 1 migration client) connections, well under db.t4g.micro's ~80.
      DATABASE_POOL_SIZE: '10',
    },
    permissions: [],
  }
}
