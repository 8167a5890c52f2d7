import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { assertSafeKey, type BlobStore } from './store'

/**
 * Amazon S3 (or any S3-compatible server). A PUT is atomic in S3 itself: readers see the old
 * object or the new one, never a part, which is the contract the local store emulates with renames.
 */
export class S3Store implements BlobStore {
  private readonly client: S3Client

  constructor(
    private readonly bucket: string,
    config: S3ClientConfig = {},
    private readonly prefix = '',
  ) {
    this.client = new S3Client(config)
  }

  private key(key: string) {
    assertSafeKey(key)
    return this.prefix + key
  }

  async put(key: string, data: Uint8Array, contentType: string) {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: data, ContentType: contentType }))
  }

  async get(key: string) {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }))
      const data = Buffer.from(await object.Body!.transformToByteArray())
      return { data, contentType: object.ContentType ?? 'application/octet-stream' }
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return null
      throw error
    }
  }

  async list(prefix: string) {
    const keys: string[] = []
    let token: string | undefined
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.key(prefix)}/`, ContinuationToken: token }))
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key.slice(this.prefix.length))
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return keys
  }

  async delete(key: string) {
    await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: [{ Key: this.key(key) }], Quiet: true } }))
  }

  async deletePrefix(prefix: string) {
    const keys = await this.list(prefix)
    // DeleteObjects takes at most 1000 keys per call.
    for (let i = 0; i < keys.length; i += 1000)
      await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((k) => ({ Key: this.prefix + k })), Quiet: true } }),
      )
  }
}
