/**
 * The server reads at most MAX_REQUEST_BYTES per request (2 x the per-photo limit + 1 MiB by
 * default), so a batch of up to 50 photos goes as several jobs.createBatch requests. This packs
 * the photos, in order, into parts whose files add up to at most `maxBytes` (the studio uses
 * 2 x maxInputBytes: the remaining MiB covers the multipart headers). A photo larger than
 * `maxBytes` on its own still gets a part (the per-photo check refused it before this).
 */
export function splitBatch(files: File[], maxBytes: number): File[][] {
  const parts: File[][] = []
  let current: File[] = []
  let bytes = 0
  for (const file of files) {
    if (current.length > 0 && bytes + file.size > maxBytes) {
      parts.push(current)
      current = []
      bytes = 0
    }
    current.push(file)
    bytes += file.size
  }
  if (current.length > 0) parts.push(current)
  return parts
}

type PartAnswer = { jobs: { id: string }[]; rejected: { name: string; message: string }[] }

/**
 * Sends a batch as several requests that each fit the server's request limit (each part becomes
 * its own batch in History). A part the server still finds too large (a smaller
 * MAX_REQUEST_BYTES) is halved and sent again; another error stops the rest, and comes back with
 * the photos not sent, while the parts already started keep running.
 */
export async function sendBatchInParts(
  files: File[],
  maxBytes: number,
  send: (part: File[]) => Promise<PartAnswer>,
  onPart: (index: number, count: number) => void,
) {
  const result = { count: 0, ids: [] as string[], rejected: [] as PartAnswer['rejected'], sent: 0, unsent: [] as File[], error: undefined as unknown }
  const parts = splitBatch(files, maxBytes)
  let partsSent = 0
  try {
    while (parts.length > 0) {
      const part = parts[0]!
      onPart(partsSent + 1, partsSent + parts.length)
      try {
        const answer = await send(part)
        result.count += answer.jobs.length
        result.ids.push(...answer.jobs.map((job) => job.id))
        result.rejected.push(...answer.rejected)
        parts.shift()
        result.sent += part.length
        partsSent++
      } catch (e) {
        const tooLarge = (e as { data?: { code?: string } } | null)?.data?.code === 'PAYLOAD_TOO_LARGE'
        if (!tooLarge || part.length < 2) throw e
        parts.splice(0, 1, part.slice(0, part.length >> 1), part.slice(part.length >> 1))
      }
    }
  } catch (e) {
    result.error = e
    result.unsent = parts.flat()
  }
  return result
}
