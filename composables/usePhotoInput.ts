import { MAX_BATCH_IMAGES } from '~~/contracts/api'
import { type StepSpec, stepTitle } from '~~/contracts/api'
import { formatBytes, formatPixels, formatSize, pipelineSize } from '~~/contracts/job-progress'
import type { ImageLimits, ModelInfo } from '~~/contracts/service'
import { pipelineSizeProblem } from '~~/lib/limits'
import type { PageSession } from './usePageSession'

type Size = { width: number; height: number }

/**
 * The photo (or the batch of photos) to run: chosen, dropped or pasted, checked against the limits
 * before anything is uploaded, with its preview and size.
 */
export function usePhotoInput(session: PageSession, limits: () => ImageLimits | null, onPick: (accepted: boolean) => void) {
  const file = ref<File | null>(null)
  const batch = ref<File[]>([])
  const previewUrl = ref('')
  const imageSize = ref<Size | null>(null)
  const previewBroken = ref(false)

  function clear() {
    if (previewUrl.value) URL.revokeObjectURL(previewUrl.value)
    previewUrl.value = ''
    file.value = null
    batch.value = []
    imageSize.value = null
    previewBroken.value = false
  }

  /** Why these files cannot be taken, in words, or null. */
  function refusal(list: File[]): FriendlyError | null {
    const notImage = list.find((f) => f.type && !f.type.startsWith('image/'))
    if (notImage) {
      return { message: `${notImage.name} is not an image (${notImage.type}).`, hint: 'Choose a JPEG, PNG, WebP, TIFF, GIF or AVIF photo.', retry: false }
    }
    const max = limits()?.maxInputBytes
    const tooBig = max ? list.find((f) => f.size > max) : undefined
    if (tooBig && max)
      return {
        message: `${tooBig.name} is ${formatBytes(tooBig.size)}; the limit is ${formatBytes(max)}.`,
        hint: 'Save it smaller (e.g. as a JPEG, or at a lower resolution) and choose it again.',
        retry: false,
      }
    if (list.length > MAX_BATCH_IMAGES) {
      return { message: `That is ${list.length} photos; a batch has at most ${MAX_BATCH_IMAGES}.`, hint: 'Choose fewer photos at a time.', retry: false }
    }
    return null
  }

  /** Takes the files chosen, dropped or pasted: one photo, or several for a batch. */
  function pick(files: File[] | FileList | undefined | null) {
    session.problem = null
    const list = [...(files ?? [])]
    if (list.length === 0) return onPick(false)
    session.problem = refusal(list)
    if (session.problem) return onPick(false)
    onPick(true)
    clear()
    if (list.length > 1) {
      batch.value = list
      return
    }
    file.value = list[0]!
    // <img> applies EXIF orientation itself (image-orientation: from-image), as the server does,
    // and decodes off the main thread, so even a large photo does not freeze the page.
    previewUrl.value = URL.createObjectURL(list[0]!)
  }

  /** Shows a job's stored input as the photo (opened from History): no checks, and the job on screen stays. */
  function restore(image: File) {
    clear()
    file.value = image
    previewUrl.value = URL.createObjectURL(image)
  }

  function onPaste(event: ClipboardEvent) {
    const target = event.target as HTMLElement | null
    if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA')) return
    const images = [...(event.clipboardData?.files ?? [])].filter((f) => f.type.startsWith('image/'))
    if (images.length === 0) return
    event.preventDefault()
    // Pasted screenshots arrive as "image.png"; give them a name worth keeping.
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')
    pick(images.map((f, i) => (f.name && f.name !== 'image.png' ? f : new File([f], `pasted-${stamp}${i ? `-${i}` : ''}.png`, { type: f.type }))))
  }

  onMounted(() => window.addEventListener('paste', onPaste))
  onBeforeUnmount(() => {
    window.removeEventListener('paste', onPaste)
    if (previewUrl.value) URL.revokeObjectURL(previewUrl.value)
  })

  return reactive({
    file,
    batch,
    previewUrl,
    imageSize,
    previewBroken,
    pick,
    restore,
    clear,
    /** Keeps the photos not sent yet (after a batch stopped part way). */
    keep: (files: File[]) => void (batch.value = files),
    loaded: (size: Size) => void (imageSize.value = size),
    broken: () => void (previewBroken.value = true),
  })
}

export type PhotoInput = ReturnType<typeof usePhotoInput>

/** What the limits mean for the photo chosen and the pipeline's magnification, before anything is uploaded. */
export function photoLimitProblem(
  limits: ImageLimits | null,
  size: Size | null,
  steps: readonly StepSpec[] | undefined,
  models: readonly Pick<ModelInfo, 'id' | 'title' | 'maxInputPixels' | 'maxAspectRatio' | 'minInputSide' | 'capabilities'>[] = [],
): string {
  if (!limits || !size || steps === undefined) return ''
  const pixels = size.width * size.height
  if (pixels > limits.maxInputPixels) {
    return `This photo is ${formatSize(size)} (${formatPixels(pixels)}); the limit is ${formatPixels(limits.maxInputPixels)}. Resize it first.`
  }
  const result = pipelineSize(size, steps)
  const out = result.width * result.height
  if (out > limits.maxOutputPixels) {
    const made = `${formatSize(result)} (${formatPixels(out)})`
    return `${steps.map(stepTitle).join(' + ')} would make ${made}, over the ${formatPixels(limits.maxOutputPixels)} limit. Pick a lower scale or a smaller photo.`
  }
  // Each model's own limits (denoise takes up to 4 MP), at the size the photo has when its step runs, as the server checks them.
  return pipelineSizeProblem(steps, (id) => models.find((m) => m.id === id), size.width, size.height) ?? ''
}
