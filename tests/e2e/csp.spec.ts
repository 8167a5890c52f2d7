import { randomUUID } from 'node:crypto'
import { expect, test, type Page } from '@playwright/test'
import { signIn } from './helpers'

declare global {
  interface Window {
    __cspViolations?: string[]
    __reportCspViolation?: (violation: string) => Promise<void>
  }
}

/** The sources of one directive of a policy, e.g. script-src. */
function directive(policy: string, name: string) {
  const found = policy
    .split(';')
    .map((part) => part.trim().split(/\s+/))
    .find(([key]) => key === name)
  return found ? found.slice(1) : undefined
}

/**
 * Collects, for the whole test, every CSP violation the pages report (securitypolicyviolation
 * events, stored on window and sent here so that none is lost on navigation, and console messages
 * about the policy) and the policy of every document loaded.
 */
async function watchCsp(page: Page) {
  const violations: string[] = []
  const documents: { url: string; policy: string | undefined }[] = []
  await page.exposeFunction('__reportCspViolation', async (violation: string) => {
    violations.push(violation)
  })
  await page.addInitScript(() => {
    window.__cspViolations = []
    window.addEventListener(
      'securitypolicyviolation',
      (e) => {
        const violation = `${location.pathname}: ${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber} ${e.sample}`
        window.__cspViolations!.push(violation)
        void window.__reportCspViolation?.(violation)
      },
      true,
    )
  })
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) violations.push(`console: ${message.text()}`)
  })
  page.on('response', (response) => {
    if (response.request().resourceType() === 'document') documents.push({ url: response.url(), policy: response.headers()['content-security-policy'] })
  })
  return { violations, documents }
}

/** The page rendered (its heading is there), its inline config script ran, and it reported no violation. */
async function rendered(page: Page, heading: string | RegExp, violations: string[]) {
  await expect(page.getByRole('heading', { name: heading }).first(), `CSP violations so far: ${JSON.stringify(violations)}`).toBeVisible()
  expect(await page.evaluate(() => typeof (window as { __NUXT__?: { config?: unknown } }).__NUXT__?.config)).toBe('object')
  // Violations are dispatched asynchronously; let any pending one arrive.
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)))
  expect(await page.evaluate(() => window.__cspViolations ?? ['no listener'])).toEqual([])
  expect(violations).toEqual([])
}

test('every page renders under a CSP without inline scripts, and none reports a violation', async ({ page, request }) => {
  const { violations, documents } = await watchCsp(page)

  await page.goto('/login')
  await rendered(page, 'Restora', violations)
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible()

  await page.getByRole('tab', { name: 'Create account' }).click()
  await expect(page.getByRole('button', { name: 'Create account' })).toBeVisible()
  await rendered(page, 'Restora', violations)

  await page.getByRole('tab', { name: 'Sign in' }).click()
  await page.getByRole('button', { name: 'Forgot your password?' }).click()
  await rendered(page, 'Reset your password', violations)
  await page.getByLabel('Email').fill(`nobody-${randomUUID().slice(0, 8)}@example.com`)
  await page.getByRole('button', { name: 'Send reset code' }).click()
  await rendered(page, 'Choose a new password', violations)

  await signIn(page)
  await rendered(page, '1. Choose a task', violations)
  await page.reload()
  await rendered(page, '1. Choose a task', violations)

  await page.goto('/history')
  await rendered(page, 'History', violations)

  // Nuxt's own error page, for an address the app has no page for.
  await page.goto('/no-such-page')
  await rendered(page, '404', violations)

  expect(violations).toEqual([])
  expect(documents.map((d) => new URL(d.url).pathname)).toEqual(['/login', '/login', '/', '/history', '/no-such-page'])
  for (const { url, policy } of documents) {
    expect(policy, url).toBeDefined()
    const scripts = directive(policy!, 'script-src')
    expect(scripts, url).toBeDefined()
    expect(scripts, url).toContain("'self'")
    expect(scripts, url).not.toContain("'unsafe-inline'")
    expect(scripts, url).not.toContain("'unsafe-eval'")
    // The shell's inline scripts are allowed by their hashes only.
    expect(scripts!.filter((s) => s.startsWith("'sha256-")).length, url).toBeGreaterThan(0)
    expect(directive(policy!, 'object-src'), url).toEqual(["'none'"])
  }

  // The API's responses carry the same policy without the shell's hashes (Nuxt's error-page one aside).
  const api = (await request.get('/api/health')).headers()['content-security-policy']
  expect(api).toBeDefined()
  const apiScripts = directive(api!, 'script-src')!
  expect(apiScripts[0]).toBe("'self'")
  expect(apiScripts.slice(1).every((s) => s.startsWith("'sha256-"))).toBe(true)
  expect(apiScripts.length).toBeLessThan(directive(documents[0]!.policy!, 'script-src')!.length)
})
