import { TRPCClientError } from '@trpc/client'
import type { JobView } from '~~/contracts/api'

/** What went wrong, in words, and what the person can do about it. */
export interface FriendlyError {
  message: string
  /** The way forward, shown under the message. */
  hint: string
  /** Whether pressing the same button again may well work (busy service, lost connection). */
  retry: boolean
}

const HINTS = {
  badImage: 'Choose another file: a JPEG, PNG, WebP, TIFF, GIF or AVIF photo that opens on your computer.',
  tooLarge: 'Choose a smaller photo, or pick a lower scale so the result stays within the limit.',
  tooLargeInput: 'Choose a smaller photo, or resize this one first.',
  busy: 'The model service is busy with other photos. Wait a moment and try again.',
  offline: 'Check your connection, then try again.',
  other: 'Try again; if it keeps failing, reload the page.',
}

function byCode(code: string | undefined, message: string): FriendlyError {
  switch (code) {
    case 'bad_image':
    case 'bad_request':
    case 'BAD_REQUEST':
      return {
        message,
        hint: /service is running/.test(message) ? 'That model service is not running right now; choose another task.' : HINTS.badImage,
        retry: false,
      }
    case 'too_large':
    case 'PAYLOAD_TOO_LARGE':
      // A lower scale helps only where the result is what is too large (or the limit is reached after upscaling).
      return { message, hint: /would make|upscal/i.test(message) ? HINTS.tooLarge : HINTS.tooLargeInput, retry: false }
    case 'busy':
    case 'not_ready':
    case 'service_unavailable':
    case 'TOO_MANY_REQUESTS':
    case 'SERVICE_UNAVAILABLE':
      return { message, hint: HINTS.busy, retry: true }
    default:
      return { message, hint: HINTS.other, retry: true }
  }
}

/** For an error thrown by an API call (the session-expired case is handled before this). */
export function friendlyError(error: unknown): FriendlyError {
  if (error instanceof TRPCClientError) return byCode((error.data as { code?: string } | undefined)?.code, errorMessage(error))
  if (error instanceof TypeError) return { message: errorMessage(error), hint: HINTS.offline, retry: true }
  return byCode(undefined, errorMessage(error))
}

/** For a job that ended in failure. */
export function friendlyJobError(job: JobView): FriendlyError {
  return byCode(job.error?.code, job.error?.message ?? 'The job failed.')
}

/**
 * Sends the person to sign in, then back to where they were. `expired`: they were signed in on
 * this page a moment ago (say so), rather than arriving without a session.
 */
export function signInAgain(expired = true) {
  const here = window.location.pathname + window.location.search
  return navigateTo({ path: '/login', query: { expired: expired ? '1' : undefined, next: here === '/' ? undefined : here } })
}
