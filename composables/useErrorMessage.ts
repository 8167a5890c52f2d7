import { TRPCClientError } from '@trpc/client'

/** The sentence to show a person for any error a call can throw. */
export function errorMessage(error: unknown): string {
  if (error instanceof TRPCClientError) {
    const issues = (error.data as { zodError?: { fieldErrors?: Record<string, string[]> } } | undefined)?.zodError
    if (error.message.startsWith('[')) {
      // zod's issue list, when input validation fails: show the first human message.
      try {
        const parsed = JSON.parse(error.message) as { message: string }[]
        if (parsed[0]?.message) return parsed[0].message
      } catch {}
    }
    if (issues) return Object.values(issues.fieldErrors ?? {}).flat()[0] ?? error.message
    return error.message
  }
  if (error instanceof TypeError) return 'The server could not be reached; check your connection and try again.'
  return (error as Error)?.message ?? 'Something went wrong.'
}

export function isUnauthorized(error: unknown): boolean {
  return error instanceof TRPCClientError && (error.data as { code?: string } | undefined)?.code === 'UNAUTHORIZED'
}
