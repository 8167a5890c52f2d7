import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs'
import type { Logger } from 'pino'
import { QueueFullError, type JobHandler, type JobQueue } from './queue'
import type { JobRef } from './repository'

export interface SqsQueueOptions {
  queueUrl: string
  /** Must match the queue's visibility timeout (sst.config.ts); heartbeats extend it while a job runs. */
  visibilityTimeoutSeconds: number
  /** Above this many waiting messages, enqueue answers "busy". */
  capacity: number
  client?: SQSClient
  logger: Logger
}

/**
 * Amazon SQS as the job queue of several orchestrator replicas. A received message is invisible
 * to the others while its job runs (heartbeats keep it so); it is deleted only when the job has
 * been settled in the store. If the replica dies, the message reappears after the visibility
 * timeout and another replica resumes the job; after maxReceiveCount receipts the queue's
 * redrive policy moves it to the dead-letter queue.
 */
export class SqsQueue implements JobQueue {
  private readonly client: SQSClient
  private running = false
  private readonly inFlight = new Set<Promise<void>>()
  private depthCache = { value: 0, at: 0 }

  constructor(private readonly options: SqsQueueOptions) {
    this.client = options.client ?? new SQSClient({})
  }

  async enqueue(ref: JobRef) {
    const depth = await this.depth()
    if (depth >= this.options.capacity) throw new QueueFullError(Math.min(60, 5 + Math.ceil(depth / 10)))
    await this.client.send(new SendMessageCommand({ QueueUrl: this.options.queueUrl, MessageBody: JSON.stringify({ ownerSub: ref.ownerSub, id: ref.id }) }))
  }

  consume(handle: JobHandler, concurrency: number) {
    this.running = true
    for (let worker = 0; worker < concurrency; worker++) void this.poll(handle)
  }

  /** ApproximateNumberOfMessages, cached for a few seconds: it is a hint, and every create reads it. */
  async depth() {
    if (Date.now() - this.depthCache.at < 5000) return this.depthCache.value
    const { Attributes } = await this.client.send(
      new GetQueueAttributesCommand({ QueueUrl: this.options.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    )
    this.depthCache = { value: Number(Attributes?.ApproximateNumberOfMessages ?? 0), at: Date.now() }
    return this.depthCache.value
  }

  async stop() {
    this.running = false
    await Promise.all(this.inFlight)
  }

  private async poll(handle: JobHandler) {
    while (this.running) {
      let messages: Message[] = []
      try {
        ;({ Messages: messages = [] } = await this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.options.queueUrl,
            MaxNumberOfMessages: 1,
            WaitTimeSeconds: 20,
            VisibilityTimeout: this.options.visibilityTimeoutSeconds,
          }),
        ))
      } catch (error) {
        this.options.logger.error({ err: error }, 'SQS receive failed; retrying in 5 s')
        await new Promise((r) => setTimeout(r, 5000))
        continue
      }
      if (!this.running) {
        // Stopped while waiting: hand the claim back at once instead of holding it to the timeout.
        await Promise.all(
          messages.map((m) =>
            this.client
              .send(new ChangeMessageVisibilityCommand({ QueueUrl: this.options.queueUrl, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 }))
              .catch(() => {}),
          ),
        )
        break
      }
      for (const message of messages) {
        const work = this.deliver(message, handle)
        this.inFlight.add(work)
        await work.finally(() => this.inFlight.delete(work))
      }
    }
  }

  private async deliver(message: Message, handle: JobHandler) {
    const receipt = message.ReceiptHandle!
    let ref: JobRef
    try {
      ref = JSON.parse(message.Body ?? '') as JobRef
    } catch {
      // Not ours to retry: a malformed message would only loop until the dead-letter queue.
      await this.client.send(new DeleteMessageCommand({ QueueUrl: this.options.queueUrl, ReceiptHandle: receipt }))
      return
    }
    const heartbeat = () =>
      this.client
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: this.options.queueUrl,
            ReceiptHandle: receipt,
            VisibilityTimeout: this.options.visibilityTimeoutSeconds,
          }),
        )
        .then(() => {})
    // Keep the claim alive even between progress events (a long tile, a slow upload to S3).
    const timer = setInterval(() => void heartbeat().catch(() => {}), (this.options.visibilityTimeoutSeconds * 1000) / 3)
    try {
      await handle(ref, heartbeat)
      await this.client.send(new DeleteMessageCommand({ QueueUrl: this.options.queueUrl, ReceiptHandle: receipt }))
    } catch (error) {
      // Left undeleted: SQS redelivers it after the visibility timeout.
      this.options.logger.error({ err: error, job: ref.id }, 'job handler failed; SQS will redeliver')
    } finally {
      clearInterval(timer)
    }
  }
}
