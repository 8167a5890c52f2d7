import type { DetectedText } from '~~/contracts/api'
import type { PageSession } from './usePageSession'
import type { CatalogueModel } from './taskChoice'

/**
 * The mask for a chosen model that takes one: for a model that finds its own regions
 * (capabilities.detect), found before running, so the person sees and corrects what will change.
 */
export function useMaskStep(session: PageSession, file: () => File | null, model: () => CatalogueModel | undefined) {
  const { $trpc } = useNuxtApp()
  const detection = ref<DetectedText | null>(null)
  const detecting = ref(false)
  /** Which photo and model the detection is of: one found for them is kept while the model is switched off and on. */
  let detectedFor: { file: File; model: string } | null = null

  async function detect(image: File, detector: CatalogueModel) {
    const asked = (detectedFor = { file: image, model: detector.id })
    detecting.value = true
    const form = new FormData()
    form.set('image', image)
    form.set('model', detector.id)
    const found = await session.guard(() => $trpc.text.detect.mutate(form))
    if (detectedFor !== asked) return // another photo or model was chosen meanwhile
    detection.value = found ?? null
    detecting.value = false
    if (!found) detectedFor = null // switching the model off and on asks again
  }

  watch([file, () => model()?.id], () => {
    const image = file()
    const detector = model()
    if (detectedFor && detectedFor.file !== image) {
      detectedFor = null
      detection.value = null
      detecting.value = false
    }
    if (!image || !detector?.capabilities.detect) return
    if (detectedFor?.file === image && detectedFor.model === detector.id) return
    void detect(image, detector)
  })

  return reactive({ detection, detecting })
}
