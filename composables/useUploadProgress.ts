/** Bytes sent of the upload in flight (null when none): the tRPC plugin's XHR fetch writes it. */
const uploadProgress = ref<{ loaded: number; total: number } | null>(null)

export function useUploadProgress() {
  return uploadProgress
}

/**
 * A `fetch` for tRPC's httpLink built on XMLHttpRequest, because fetch cannot report upload
 * progress. Used only for FormData requests (uploads); everything else keeps the real fetch.
 */
export function fetchWithUploadProgress(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open(init.method ?? 'POST', String(input))
    new Headers(init.headers).forEach((value, name) => xhr.setRequestHeader(name, value))
    xhr.withCredentials = true
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) uploadProgress.value = { loaded: event.loaded, total: event.total }
    }
    xhr.onload = () => {
      uploadProgress.value = null
      const headers = new Headers()
      for (const line of xhr
        .getAllResponseHeaders()
        .trim()
        .split(/[\r\n]+/)) {
        const at = line.indexOf(':')
        if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim())
      }
      resolve(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText, headers }))
    }
    xhr.onerror = () => {
      uploadProgress.value = null
      reject(new TypeError('Network request failed'))
    }
    const signal = init.signal
    if (signal) {
      if (signal.aborted) return reject(new DOMException('Aborted', 'AbortError'))
      signal.addEventListener('abort', () => {
        xhr.abort()
        uploadProgress.value = null
        reject(new DOMException('Aborted', 'AbortError'))
      })
    }
    xhr.send(init.body as XMLHttpRequestBodyInit | null)
  })
}
