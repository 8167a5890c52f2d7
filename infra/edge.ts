/// <reference path="../.sst/platform/config.d.ts" />

// AWS managed policies (fixed ids): never cache the API or pages; cache hashed build assets for a year.
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad'
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6'
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac'

/** CloudFront is the only public entry, reaching the internal load balancer through a VPC origin; WAF rate-limits it. */
export function edge(web: sst.aws.Service) {
  const loadBalancer = web.nodes.loadBalancer
  const firewall = new aws.wafv2.WebAcl('Firewall', firewallRules(), { provider: new aws.Provider('UsEast1', { region: 'us-east-1' }) })
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
  return new aws.cloudfront.Distribution('Cdn', {
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
}

/** A CloudFront-scoped web ACL, which AWS keeps in us-east-1 whatever the app's region. */
function firewallRules(): aws.wafv2.WebAclArgs {
  const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName })
  return {
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
  }
}
