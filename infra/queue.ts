/// <reference path="../.sst/platform/config.d.ts" />
import type { Access } from './containers'

/** The jobs queue (the orchestrator's runner) and its dead-letter queue. */
export function queue(): Access & { queue: sst.aws.Queue; deadLetters: sst.aws.Queue } {
  const deadLetters = new sst.aws.Queue('JobsDeadLetters', {
    transform: { queue: { messageRetentionSeconds: 14 * 24 * 3600, sqsManagedSseEnabled: true } },
  })
  // Longer than a job may run, so a job is not handed out twice.
  const jobsQueue = new sst.aws.Queue('JobsQueue', {
    visibilityTimeout: '20 minutes',
    dlq: { queue: deadLetters.arn, retry: 3 },
    transform: { queue: { messageRetentionSeconds: 4 * 24 * 3600, sqsManagedSseEnabled: true } },
  })
  return {
    queue: jobsQueue,
    deadLetters,
    environment: {
      JOB_QUEUE_URL: jobsQueue.url,
      // The queue's visibility timeout (20 min): heartbeats extend a claim while a job runs.
      JOB_QUEUE_VISIBILITY_TIMEOUT_S: '1200',
    },
    permissions: [
      {
        actions: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
        resources: [jobsQueue.arn],
      },
    ],
  }
}
