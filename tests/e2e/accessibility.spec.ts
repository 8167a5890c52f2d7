import AxeBuilder from '@axe-core/playwright'
import { expect, test, type Page } from '@playwright/test'
import { chooseUpscale, screenshot, signIn, smallPhoto } from './helpers'

/** Serious and critical axe-core violations (WCAG 2.1 A/AA rules), with where they are. */
async function seriousViolations(page: Page) {
  const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)
}

for (const scheme of ['light', 'dark'] as const) {
  test(`no serious accessibility violations on the main pages (${scheme} mode)`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme })
    await page.goto('/login')
    await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible()
    expect(await seriousViolations(page)).toEqual([])
    await page.getByRole('tab', { name: 'Create account' }).click()
    await page.getByRole('button', { name: 'Create account' }).click()
    await expect(page.getByRole('alert')).toBeVisible()
    expect(await seriousViolations(page)).toEqual([])

    await signIn(page)
    expect(await seriousViolations(page)).toEqual([])

    await chooseUpscale(page, 2)
    await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto(90, 60))
    await page.getByRole('button', { name: 'Upscale ×2' }).click()
    await expect(page.getByRole('link', { name: 'Download PNG' })).toBeVisible({ timeout: 90_000 })
    await page.getByRole('radio', { name: 'WebP' }).check()
    expect(await seriousViolations(page)).toEqual([])
    await screenshot(page, `studio-result-${scheme}`)

    await page.goto('/history')
    await expect(page.getByRole('heading', { name: 'History' })).toBeVisible()
    await expect(page.getByRole('listitem').first()).toBeVisible()
    expect(await seriousViolations(page)).toEqual([])
  })
}

test('the studio works from the keyboard alone', async ({ page }) => {
  await signIn(page)
  await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto(60, 40))
  // From the photo picker, Tab reaches the start button, Enter starts the job.
  await page.getByRole('radio', { name: '×2', exact: true }).focus()
  await page.keyboard.press('Space')
  await expect(page.getByRole('radio', { name: '×2', exact: true })).toBeChecked()
  const start = page.getByRole('button', { name: 'Upscale ×2' })
  for (let i = 0; i < 15 && !(await start.evaluate((b) => b === document.activeElement)); i++) await page.keyboard.press('Tab')
  await expect(start).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(page.getByText('60×40 → 120×80')).toBeVisible({ timeout: 90_000 })
  // The comparison takes focus and answers keys: 1 = actual pixels.
  const comparison = page.getByRole('group', { name: /Before and after comparison/ })
  await comparison.focus()
  await page.keyboard.press('1')
  await expect.poll(async () => (await page.getByAltText('Result').boundingBox())?.width).toBe(120)
})
