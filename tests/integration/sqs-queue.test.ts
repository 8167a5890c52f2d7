import { readFile } from 'node:fs/promises'
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs'
import { startFauxqs } from 'fauxqs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobFormData, type JobView } from '../../contracts/api'
import { createLogger } from '../../lib/log'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import type { App } from '../../server/app'
import { SqsQueue } from '../../server/jobs/sqs-queue'
import { LocalFolderStore } from '../../server/storage/local-folder-store'
import { stackEnv } from '../helpers/auth'
import { callerFor, createTestApp } from '../helpers/caller'
import { fixture } from '../helpers/images'

/** A real SQS-compatible server on loopback (npm: fauxqs), spoken to by the current AWS SDK. */
let server: Awaited<ReturnType<typeof startFauxqs>>
let client: SQSClient
const apps: App[] = []

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false })
  client = new SQSClient({ endpoint: server.address, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
})
afterAll(async () => {
  await Promise.all(apps.map((a) => a.queue.stop()))
  client.destroy()
  await server.stop()
})

/** A job queue with a dead-letter queue after `maxReceiveCount` receipts, as sst.config.ts defines it. */
async function createQueues(name: string, visibilityTimeout = 2, maxReceiveCount = 2) {
  const dlq = await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeout),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount }),
      },
    }),
  )
  return { queueUrl: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! }
}

function replica(queueUrl: string, dataDir: string) {
  const app = createTestApp(
    { JOB_QUEUE_URL: queueUrl, SQS_ENDPOINT: server.address, JOB_QUEUE_VISIBILITY_TIMEOUT_S: '2', DATA_DIR: dataDir },
    { store: new LocalFolderStore(dataDir) },
  )
  apps.push(app)
  return app
}

async function waitForEnd(caller: ReturnType<typeof callerFor>['caller'], id: string, timeoutMs = 90_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = await caller.jobs.get({ id })
    if (!['queued', 'running'].includes(job.status) || Date.now() > deadline) return job
    await new Promise((r) => setTimeout(r, 100))
  }
}

const image = async () => new File([await readFile(fixture('chelsea.png'))], 'chelsea.png')
const step = [{ task: 'upscale' as const, model: 'esrgan-slim', scale: 2 }]

describe('jobs through Amazon SQS (fauxqs on loopback)', () => {
  it('two orchestrator replicas share one queue: every job runs exactly once', { timeout: 180_000 }, async () => {
    const { queueUrl } = await createQueues('jobs-shared')
    const dataDir = `${stackEnv().DATA_DIR}-sqs-shared`
    const [a, b] = [replica(queueUrl, dataDir), replica(queueUrl, dataDir)]
    expect(a.queue).toBeInstanceOf(SqsQueue)
    const { caller } = callerFor(a)
    await caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
    const jobs = await Promise.all([1, 2, 3, 4].map(async () => caller.jobs.create(createJobFormData({ image: await image(), steps: step }))))
    const ended = await Promise.all(jobs.map((j) => waitForEnd(caller, j.id)))
    expect(ended.map((j) => [j.status, j.attempts])).toEqual(ended.map(() => ['succeeded', 1]))
    const finished = async (app: App) => (await app.metrics.jobsFinished.get()).values.reduce((n, v) => n + v.value, 0)
    expect((await finished(a)) + (await finished(b))).toBe(4)
  })

  it('a replica that dies holding a job: the message reappears and another replica resumes it', { timeout: 180_000 }, async () => {
    const { queueUrl } = await createQueues('jobs-dead-replica', 2, 5)
    const dataDir = `${stackEnv().DATA_DIR}-sqs-dead`
    // The job is created through a replica whose consumer never starts...
    const creator = createTestApp(
      { JOB_QUEUE_URL: queueUrl, SQS_ENDPOINT: server.address, DATA_DIR: dataDir },
      {
        store: new LocalFolderStore(dataDir),
        queue: new SqsQueue({ queueUrl, visibilityTimeoutSeconds: 2, capacity: 100, client, logger: createLogger('creator') }),
      },
    )
    await creator.queue.stop()
    const { caller } = callerFor(creator)
    await caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
    const job = await caller.jobs.create(createJobFormData({ image: await image(), steps: step }))
    // ...and a "replica" claims the message, then dies without a word (no heartbeat, no delete).
    const claimed = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 5, VisibilityTimeout: 2 }))
    expect(claimed.Messages).toHaveLength(1)
    const survivor = callerFor(replica(queueUrl, dataDir))
    await survivor.caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
    const ended = await waitForEnd(survivor.caller, job.id)
    expect(ended.status).toBe('succeeded')
  })

  it('a job whose handler keeps failing ends in the dead-letter queue instead of looping', { timeout: 60_000 }, async () => {
    const { queueUrl, dlqUrl } = await createQueues('jobs-poison', 1, 2)
    const queue = new SqsQueue({ queueUrl, visibilityTimeoutSeconds: 1, capacity: 100, client, logger: createLogger('poison') })
    let deliveries = 0
    await queue.enqueue({ ownerSub: 'someone', id: 'poison-job-0001' })
    queue.consume(async () => {
      deliveries++
      throw new Error('storage unavailable')
    }, 1)
    const deadline = Date.now() + 30_000
    let dead: unknown[] = []
    while (Date.now() < deadline && dead.length === 0) {
      dead = (await client.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }))).Messages ?? []
    }
    await queue.stop()
    expect(deliveries).toBe(2)
    expect(dead).toHaveLength(1)
  })

  it('answers "busy" when the queue is at capacity', async () => {
    const { queueUrl } = await createQueues('jobs-full')
    const queue = new SqsQueue({ queueUrl, visibilityTimeoutSeconds: 2, capacity: 2, client, logger: createLogger('full') })
    await queue.enqueue({ ownerSub: 'u', id: 'a-job-00000001' })
    await queue.enqueue({ ownerSub: 'u', id: 'a-job-00000002' })
    // The depth is a cached hint (5 s); a fresh queue object reads it anew.
    const fresh = new SqsQueue({ queueUrl, visibilityTimeoutSeconds: 2, capacity: 2, client, logger: createLogger('full') })
    await expect(fresh.enqueue({ ownerSub: 'u', id: 'a-job-00000003' })).rejects.toThrow(/busy: retry in \d+ s/)
  })
})
