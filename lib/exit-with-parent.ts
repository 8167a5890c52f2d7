/**
 * Processes started by the local stack (scripts/lib/local-stack.ts) stop when the process that
 * started them is gone, even if it was killed without a chance to clean up: no orphaned services
 * holding ports after an interrupted test run.
 */
export function exitWithParent(): void {
  const parent = Number(process.env.RESTORA_PARENT_PID)
  if (!parent) return
  setInterval(() => {
    try {
      process.kill(parent, 0)
    } catch {
      process.exit(0)
    }
  }, 2000).unref()
}
