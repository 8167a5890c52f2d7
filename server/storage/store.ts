/**
 * Where uploads, results and job records live. Keys are '/'-separated paths
 * (e.g. `users/<sub>/jobs/<id>/input`). Local folder by default; an S3 implementation
 * takes the same interface in the cloud.
 */
export interface BlobStore {
  /** Writes atomically: a reader sees the old object or the new one, never a part. */
  put(key: string, data: Uint8Array, contentType: string): Promise<void>
  get(key: string): Promise<{ data: Buffer; contentType: string } | null>
  /** Keys directly or indirectly under `prefix`. */
  list(prefix: string): Promise<string[]>
  delete(key: string): Promise<void>
  /** Deletes every object under `prefix` (a job's folder). */
  deletePrefix(prefix: string): Promise<void>
}

const SAFE_SEGMENT = /^[A-Za-z0-9._-]+$/

/** Rejects keys that could escape the store (`..`, absolute paths, odd characters). */
export function assertSafeKey(key: string): void {
  const segments = key.split('/')
  if (segments.length === 0 || segments.some((s) => !SAFE_SEGMENT.test(s) || s === '.' || s === '..')) throw new Error(`unsafe storage key: ${key}`)
}
