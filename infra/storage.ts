/// <reference path="../.sst/platform/config.d.ts" />
import type { Access } from './containers'

/** Blobs: uploads and results, private, encrypted, TLS-only (SST default), expiring. */
export function storage(): Access & { bucket: sst.aws.Bucket } {
  const bucket = new sst.aws.Bucket('StorageBucket', {
    lifecycle: [{ id: 'expire-user-data', prefix: 'users/', expiresIn: $app.stage === 'prod' ? '30 days' : '7 days' }],
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
  return {
    bucket,
    environment: { STORAGE_BUCKET: bucket.name },
    // Objects under users/ only (where every blob lives), and listing for the per-user prefixes.
    permissions: [
      { actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], resources: [$interpolate`${bucket.arn}/users/*`] },
      { actions: ['s3:ListBucket'], resources: [bucket.arn] },
    ],
  }
}
