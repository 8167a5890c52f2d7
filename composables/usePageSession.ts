import type { SessionUser } from '~~/contracts/api'

/**
 * The signed-in person of a page and how its API calls fail: a lost session sends them to sign in
 * again (saying it expired when they were signed in here a moment ago), any other error becomes
 * the page's `problem`, in words.
 */
export function usePageSession() {
  const { $trpc } = useNuxtApp()
  const user = ref<SessionUser | null>(null)
  const problem = ref<FriendlyError | null>(null)

  function report(error: unknown) {
    if (isUnauthorized(error)) void signInAgain(user.value !== null)
    else problem.value = friendlyError(error)
  }

  async function guard<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call()
    } catch (error) {
      report(error)
      return undefined
    }
  }

  async function loadUser() {
    user.value = (await guard(() => $trpc.auth.me.query())) ?? null
    return user.value
  }

  return reactive({ user, problem, report, guard, loadUser })
}

export type PageSession = ReturnType<typeof usePageSession>
