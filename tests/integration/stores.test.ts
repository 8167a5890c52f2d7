import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import S3rver from 's3rver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobFormData } from '../../contracts/api'
import { DEMO_USER, freePort } from '../../scripts/lib/local-stack'
import type { InProcessQueue } from '../../server/jobs/queue'
import { resultKey } from '../../server/jobs/repository'
import { LocalFolderStore } from '../../server/storage/local-folder-store'
import { S3Store } from '../../server/storage/s3-store'
import type { BlobStore } from '../../server/storage/store'
import { callerFor, createTestApp } from '../helpers/caller'
import { fixture, pngSize } from '../helpers/images'

let dir: string
let s3rver: S3rver
let endpoint: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restora-stores-'))
  const port = await freePort()
  // A real S3-compatible server on loopback (npm: s3rver), not a mock of the SDK.
  s3rver = new S3rver({ port, address: '127.0.0.1', directory: join(dir, 's3'), silent: true })
  await s3rver.run()
  endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
  await client.send(new CreateBucketCommand({ Bucket: 'restora-test' }))
  client.destroy()
})

afterAll(async () => {
  await s3rver?.close()
  await rm(dir, { recursive: true, force: true })
})

const stores: [string, () => BlobStore][] = [
  ['local folder', () => new LocalFolderStore(join(dir, 'local'))],
  [
    'S3 (s3rver)',
    () =>
      new S3Store('restora-test', { endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }),
  ],
]

describe.each(stores)('%s store', (_name, make) => {
  it('puts, gets, lists, overwrites and deletes objects with their content types', async () => {
    const store = make()
    const bytes = new Uint8Array([137, 80, 78, 71, 1, 2, 3])
    await store.put('users/u1/jobs/j1/input', bytes, 'image/png')
    await store.put('users/u1/jobs/j1/job.json', Buffer.from('{"a":1}'), 'application/json')
    await store.put('users/u1/jobs/j2/job.json', Buffer.from('{"a":2}'), 'application/json')
    const got = await store.get('users/u1/jobs/j1/input')
    expect([...got!.data]).toEqual([...bytes])
    expect(got!.contentType).toBe('image/png')
    expect((await store.list('users/u1/jobs')).sort()).toEqual(['users/u1/jobs/j1/input', 'users/u1/jobs/j1/job.json', 'users/u1/jobs/j2/job.json'])
    expect(await store.list('users/nobody')).toEqual([])
    await store.put('users/u1/jobs/j1/job.json', Buffer.from('{"a":3}'), 'application/json')
    expect((await store.get('users/u1/jobs/j1/job.json'))!.data.toString()).toBe('{"a":3}')
    await store.delete('users/u1/jobs/j2/job.json')
    expect(await store.get('users/u1/jobs/j2/job.json')).toBeNull()
    await store.deletePrefix('users/u1/jobs/j1')
    expect(await store.list('users/u1/jobs')).toEqual([])
  })

  it('refuses keys that could escape the store', async () => {
    const store = make()
    for (const key of ['../etc/passwd', 'users/../../x', '/abs', 'a//b', 'a/b c'])
      await expect(store.put(key, new Uint8Array([1]), 'text/plain')).rejects.toThrow(/unsafe storage key/)
  })

  it('keeps concurrent writers of one key whole: a reader sees one version, never a mix', async () => {
    const store = make()
    const versions = [0, 1, 2, 3, 4, 5].map((v) => new Uint8Array(200_000).fill(v))
    await Promise.all(versions.map((data) => store.put('users/u2/jobs/j/result', data, 'application/octet-stream')))
    const final = (await store.get('users/u2/jobs/j/result'))!.data
    expect(final.length).toBe(200_000)
    expect(new Set(final).size).toBe(1)
  })
})

describe('local folder store', () => {
  it('leaves no temporary files behind', async () => {
    const store = new LocalFolderStore(join(dir, 'atomic'))
    await Promise.all([1, 2, 3].map((i) => store.put('a/b', new Uint8Array([i]), 'x/y')))
    expect((await readdir(join(dir, 'atomic', 'a'))).sort()).toEqual(['b', 'b.type'])
  })
})

describe('orchestrator on S3', () => {
  it('stores jobs and results in the bucket when STORAGE_BUCKET is set', async () => {
    const app = createTestApp({ STORAGE_BUCKET: 'restora-test', S3_ENDPOINT: endpoint })
    expect(app.store).toBeInstanceOf(S3Store)
    const { caller } = callerFor(app)
    await caller.auth.signIn({ email: DEMO_USER.email, password: DEMO_USER.password })
    const job = await caller.jobs.create(
      createJobFormData({
        image: new File([await readFile(fixture('chelsea.png'))], 'chelsea.png'),
        steps: [{ task: 'upscale', model: 'esrgan-medium', scale: 2 }],
      }),
    )
    await (app.queue as InProcessQueue).idle()
    const done = await caller.jobs.get({ id: job.id })
    expect(done.status).toBe('succeeded')
    const me = await caller.auth.me()
    expect(await pngSize((await app.store.get(resultKey({ ...done, ownerSub: me.sub })))!.data)).toMatchObject({ width: 902, height: 600 })
  }, 60_000)
})
