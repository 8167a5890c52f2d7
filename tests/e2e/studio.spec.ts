import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { expect, test, type Page } from '@playwright/test'
import sharp from 'sharp'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import { fixture } from '../helpers/images'
import { smallPhoto } from './helpers'

async function signIn(page: Page, email = DEMO_USER.email, password = DEMO_USER.password) {
  await page.goto('/')
  await expect(page).toHaveURL(/\/login$/)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await expect(page.getByRole('heading', { name: '1. Choose a task' })).toBeVisible()
}

test('sign in, upscale chelsea.png x4, compare, and download a PNG of 4x the size', async ({ page }, testInfo) => {
  await signIn(page)
  await page.getByRole('radio', { name: '×4' }).check()
  // A photo at balanced quality is what the studio starts on: Real-ESRGAN general.
  await expect(page.getByRole('radio', { name: 'Photo', exact: true })).toBeChecked()
  await page.getByRole('radio', { name: 'Balanced' }).check()
  await page.getByLabel('Choose a photo').setInputFiles(fixture('chelsea.png'))
  await expect(page.getByAltText('Preview of the chosen photo')).toBeVisible()
  await page.getByRole('button', { name: 'Upscale ×4' }).click()
  await expect(page.getByRole('heading', { name: 'Processing…' })).toBeVisible()
  await expect(page.getByRole('progressbar', { name: 'Progress' })).toBeVisible()
  const download = page.getByRole('link', { name: 'Download PNG' })
  await expect(download).toBeVisible({ timeout: 90_000 })
  await expect(page.getByText('451×300 → 1804×1200')).toBeVisible()
  await expect(page.getByAltText('Result')).toBeVisible()
  await expect(page.getByAltText('Original')).toBeVisible()
  await page.screenshot({ path: testInfo.outputPath('result.png'), fullPage: true })

  const [file] = await Promise.all([page.waitForEvent('download'), download.click()])
  expect(file.suggestedFilename()).toBe('chelsea-realesrgan-general-x4-x4.png')
  const bytes = await readFile((await file.path())!)
  const meta = await sharp(bytes).metadata()
  expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({ format: 'png', width: 451 * 4, height: 300 * 4 })
})

test('a truncated JPEG gets a clear error in the page, and the studio keeps working', async ({ page }) => {
  await signIn(page)
  await page.getByLabel('Choose a photo').setInputFiles(fixture('truncated.jpg'))
  await page.getByRole('button', { name: /Upscale ×/ }).click()
  await expect(page.getByRole('alert')).toContainText(/damaged|not an image/i)
  await page.getByRole('radio', { name: '×2' }).check()
  await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto(150, 100))
  await page.getByRole('button', { name: 'Upscale ×2' }).click()
  await expect(page.getByText('150×100 → 300×200')).toBeVisible({ timeout: 90_000 })
})

test('the preview and the result follow EXIF orientation', async ({ page }) => {
  // 60x40 pixels stored, EXIF orientation 6 (rotate 90° clockwise): a person sees 40x60.
  const rotated = await sharp(fixture('chelsea.png')).resize(60, 40, { fit: 'fill' }).jpeg().withMetadata({ orientation: 6 }).toBuffer()
  await signIn(page)
  await page.getByRole('radio', { name: '×2' }).check()
  await page.getByLabel('Choose a photo').setInputFiles({ name: 'rotated.jpg', mimeType: 'image/jpeg', buffer: rotated })
  const preview = page.getByAltText('Preview of the chosen photo')
  await expect(preview).toBeVisible()
  expect(await preview.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([40, 60])
  await page.getByRole('button', { name: 'Upscale ×2' }).click()
  await expect(page.getByText('40×60 → 80×120')).toBeVisible({ timeout: 60_000 })
})

test('a new user signs up, lands in the studio and signs out', async ({ page }) => {
  await page.goto('/login')
  await page.getByRole('tab', { name: 'Create account' }).click()
  await page.getByLabel('Email').fill(`e2e-${randomUUID().slice(0, 8)}@example.com`)
  await page.getByLabel('Password').fill('short')
  await page.getByRole('button', { name: 'Create account' }).click()
  await expect(page.getByRole('alert')).toHaveText('Passwords have at least 8 characters.')
  await page.getByLabel('Password').fill('a-long-enough-password')
  await page.getByRole('button', { name: 'Create account' }).click()
  await expect(page.getByRole('heading', { name: '1. Choose a task' })).toBeVisible()
  await page.getByRole('button', { name: 'Sign out' }).click()
  await expect(page).toHaveURL(/\/login$/)
  await page.goto('/')
  await expect(page).toHaveURL(/\/login$/)
})

test('a wrong password is refused with a clear message', async ({ page }) => {
  await page.goto('/login')
  await page.getByLabel('Email').fill(DEMO_USER.email)
  await page.getByLabel('Password').fill('definitely-wrong')
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.')
})

test('pages are served with security headers', async ({ request }) => {
  const response = await request.get('/login')
  const headers = response.headers()
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'")
  expect(headers['content-security-policy']).toContain("object-src 'none'")
  expect(headers['x-content-type-options']).toBe('nosniff')
  expect(headers['x-frame-options']).toBe('DENY')
})
