/// <reference path="../.sst/platform/config.d.ts" />

/** Containers in private subnets, NAT only for outbound (ECR pulls, Cognito JWKS), one ECS cluster. */
export function network() {
  const vpc = new sst.aws.Vpc('Vpc', { az: 2, nat: $app.stage === 'prod' ? 'managed' : 'ec2' })
  // S3 traffic from the private subnets goes through a free gateway endpoint instead of the NAT.
  new aws.ec2.VpcEndpoint('S3Endpoint', {
    vpcId: vpc.id,
    serviceName: $interpolate`com.amazonaws.${aws.getRegionOutput().name}.s3`,
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
  return { vpc, cluster }
}
