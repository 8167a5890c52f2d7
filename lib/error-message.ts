import { TRPCClientError } from '@trpc/client'

/** The sentence to show a person (page or terminal) for any error an API call can throw. */
export function errorMessage(error: unknown): string {
  if (error instanceof TRPCClientError) {
    // Input validation failures carry zod's issue list as the message: show the first human line.
    if (error.message.startsWith('[')) {
      try {
        const issues = JSON.parse(error.message) as { message?: string; path?: (string | number)[] }[]
        const first = issues[0]
        if (first?.message) return first.message
      } catch {}
    }
    return error.message
  }
  if (error instanceof TypeError) return 'The server could not be reached; check your connection and try again.'
  return (error as Error)?.message ?? 'Something went wrong.'
}

export function isUnauthorized(error: unknown): boolean {
  return error instanceof TRPCClientError && (error.data as { code?: string } | undefined)?.code === 'UNAUTHORIZED'
}
