import sharp from 'sharp'
import type { App } from '../app'
import type { BlobStore } from '../storage/store'

/**
 * Format conversions and thumbnails of stored images, for the download route. Each decodes a whole
 * image (an 8000x8000 result to WebP takes about 320 MB, to JPEG about 400 MB), so:
 * - they run a few at a time in this process (MAX_CONCURRENT_CONVERSIONS slots; an image over
 *   16 MP takes one slot per 16 MP, so two 64 MP ones never run together), and a bounded number
 *   wait (beyond that: ConversionBusyError, answered 503 with Retry-After);
 * - requests for the same derived image share one conversion while it runs;
 * - the output is stored beside the source (`<job>/derived/...`, deleted with the job) and served
 *   from there afterwards, so each is made once.
 */

// No cache of decoded images between requests: the web process converts each image once anyway.
sharp.cache(false)

export const FORMATS = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const
export type Format = keyof typeof FORMATS
/** Longest side of a history thumbnail, in pixels. */
export const THUMB_SIZE = 320
/** Conversions allowed to wait for a slot; more are refused (a history page asks for one thumbnail per job, 100 at most). */
export const MAX_WAITING_CONVERSIONS = 100
const PIXELS_PER_SLOT = 16_000_000
const RETRY_AFTER_S = 5

export type Derivation = { kind: 'thumb' } | { kind: 'format'; format: Format; quality: number }

export class ConversionBusyError extends Error {
  readonly retryAfterSeconds = RETRY_AFTER_S
  constructor() {
    super(`Too many images are being converted right now: retry in ${RETRY_AFTER_S} s.`)
  }
}

/** Where a derived image is stored: beside its source, under the job's folder (keys stay within assertSafeKey's characters). */
export function derivedKey(jobBase: string, file: string, derivation: Derivation): string {
  if (derivation.kind === 'thumb') return `${jobBase}/derived/${file}-thumb.webp`
  if (derivation.format === 'png') return `${jobBase}/derived/${file}.png`
  return `${jobBase}/derived/${file}-q${derivation.quality}.${derivation.format}`
}

/** The conversion itself: EXIF orientation applied, alpha flattened onto white for JPEG. */
export async function render(source: Buffer, derivation: Derivation): Promise<{ data: Buffer; contentType: string }> {
  const format: Format = derivation.kind === 'thumb' ? 'webp' : derivation.format
  const quality = derivation.kind === 'thumb' ? 70 : derivation.quality
  // The stored images already passed the upload limits, so decoding them here is bounded.
  let pipeline = sharp(source, { limitInputPixels: false, sequentialRead: true }).rotate()
  if (derivation.kind === 'thumb') pipeline = pipeline.resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
  if (format === 'jpeg') pipeline = pipeline.flatten({ background: '#ffffff' }).jpeg({ quality, mozjpeg: true })
  else if (format === 'webp') pipeline = pipeline.webp({ quality })
  else pipeline = pipeline.png()
  return { data: await pipeline.toBuffer(), contentType: FORMATS[format] }
}

export interface DeriveRequest {
  /** Where the derived image is (to be) stored: derivedKey(). */
  key: string
  sourceKey: string
  derivation: Derivation
  /** The source's pixels when known (the job record has them); unknown ones take every slot. */
  pixels: number | null
}

export class Conversions {
  private readonly inFlight = new Map<string, Promise<{ data: Buffer; contentType: string } | null>>()
  private readonly slots: Slots
  /** Conversions actually run (not served from the store or shared), for tests and metrics. */
  converted = 0

  constructor(
    private readonly store: BlobStore,
    options: { maxConcurrent: number; maxWaiting?: number; onStoreError?: (error: unknown, key: string) => void },
  ) {
    this.slots = new Slots(options.maxConcurrent, options.maxWaiting ?? MAX_WAITING_CONVERSIONS)
    this.onStoreError = options.onStoreError ?? (() => {})
  }

  private readonly onStoreError: (error: unknown, key: string) => void

  /** The derived image, from the store or made now; null when the source is missing. Throws ConversionBusyError when too many wait. */
  async derive(request: DeriveRequest): Promise<{ data: Buffer; contentType: string } | null> {
    const shared = this.inFlight.get(request.key)
    if (shared) return shared
    const stored = await this.store.get(request.key)
    if (stored) return stored
    // Looked up again: another request may have started it while the store answered.
    let pending = this.inFlight.get(request.key)
    if (!pending) {
      pending = this.convert(request).finally(() => this.inFlight.delete(request.key))
      this.inFlight.set(request.key, pending)
    }
    return pending
  }

  private async convert({ key, sourceKey, derivation, pixels }: DeriveRequest) {
    const weight = derivation.kind === 'thumb' ? 1 : pixels === null ? Infinity : Math.ceil(pixels / PIXELS_PER_SLOT)
    const release = await this.slots.acquire(weight)
    try {
      // Another replica (or a request just before this one) may have stored it meanwhile.
      const stored = await this.store.get(key)
      if (stored) return stored
      const source = await this.store.get(sourceKey)
      if (!source) return null
      const derived = await render(source.data, derivation)
      this.converted++
      try {
        await this.store.put(key, derived.data, derived.contentType)
      } catch (error) {
        // Still answered; the next request converts again.
        this.onStoreError(error, key)
      }
      return derived
    } finally {
      release()
    }
  }
}

/** A counting semaphore with weights and a bounded, first-come-first-served wait list. */
class Slots {
  private used = 0
  private readonly waiting: { weight: number; grant: () => void }[] = []

  constructor(
    private readonly total: number,
    private readonly maxWaiting: number,
  ) {}

  async acquire(weight: number): Promise<() => void> {
    const want = Math.max(1, Math.min(weight, this.total))
    if (this.waiting.length > 0 || this.used + want > this.total) {
      if (this.waiting.length >= this.maxWaiting) throw new ConversionBusyError()
      await new Promise<void>((grant) => this.waiting.push({ weight: want, grant }))
    } else this.used += want
    let released = false
    return () => {
      if (released) return
      released = true
      this.used -= want
      while (this.waiting.length > 0 && this.used + this.waiting[0]!.weight <= this.total) {
        const next = this.waiting.shift()!
        this.used += next.weight
        next.grant()
      }
    }
  }
}

let shared: Conversions | undefined
/** The process-wide conversions (one set of slots for every request). */
export function useConversions(app: App): Conversions {
  shared ??= new Conversions(app.store, {
    maxConcurrent: app.config.maxConcurrentConversions,
    onStoreError: (error, key) => app.logger.warn({ err: error, key }, 'derived image not stored'),
  })
  return shared
}
