import { readFile } from 'node:fs/promises'
import { expect, test } from '@playwright/test'
import { unzipSync } from 'fflate'
import sharp from 'sharp'
import { fixture } from '../helpers/images'
import { chooseUpscale, screenshot, signUpFresh, smallPhoto } from './helpers'

test('history: thumbnails, status, batches grouped, open, re-download, delete, load more', async ({ page }) => {
  test.setTimeout(240_000)
  await signUpFresh(page)
  await page.getByRole('link', { name: 'History' }).click()
  await expect(page.getByText('No photos yet.')).toBeVisible()

  // A batch of three photos from the studio (several files chosen at once)...
  await page.getByRole('link', { name: 'Studio', exact: true }).click()
  await chooseUpscale(page, 2)
  const photos = await Promise.all([smallPhoto(40, 30, 'one.png'), smallPhoto(44, 30, 'two.png'), smallPhoto(48, 30, 'three.png')])
  await page.getByLabel('Choose a photo').setInputFiles(photos)
  await expect(page.getByText('3 photos will run as one batch:')).toBeVisible()
  await page.getByRole('button', { name: 'Upscale ×2: 3 photos' }).click()
  // The batch on the stage: each photo with its status, then all of them in one ZIP.
  await expect(page.getByRole('heading', { name: /Batch (started|finished)/ })).toBeVisible()
  const batchPhotos = page.getByRole('list', { name: 'Photos of the batch' })
  await expect(batchPhotos.getByRole('listitem')).toHaveCount(3)
  await expect(page.getByRole('heading', { name: 'Batch finished' })).toBeVisible({ timeout: 60_000 })
  await expect(batchPhotos.getByText('Done')).toHaveCount(3)
  await screenshot(page, 'studio-batch')
  const [zip] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download all (ZIP, 3)' }).click()])
  const entries = unzipSync(new Uint8Array(await readFile((await zip.path())!)))
  expect(Object.keys(entries).sort()).toEqual(['one-realesrgan-general-x4-x2.png', 'three-realesrgan-general-x4-x2.png', 'two-realesrgan-general-x4-x2.png'])
  expect((await sharp(Buffer.from(entries['one-realesrgan-general-x4-x2.png']!)).metadata()).width).toBe(80)
  // ...and single jobs, enough to need a second page (12 per page).
  for (let i = 0; i < 10; i++) {
    await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto(32 + i, 24, `single-${i}.png`))
    await page.getByRole('button', { name: 'Upscale ×2', exact: true }).click()
    await expect(page.getByRole('link', { name: 'Download PNG' })).toBeVisible({ timeout: 60_000 })
  }

  await page.getByRole('link', { name: 'History' }).click()
  const batch = page.getByRole('region', { name: 'Batch of 3 photos' })
  await expect(page.getByRole('listitem').filter({ hasText: 'single-9.png' })).toContainText('Done')
  await expect(page.getByRole('button', { name: 'Load more' })).toBeVisible()
  await expect(batch).toHaveCount(0) // the batch is older than the first page
  await page.getByRole('button', { name: 'Load more' }).click()
  await expect(batch).toBeVisible()
  await expect(batch.getByRole('listitem')).toHaveCount(3)
  await expect(batch.getByText('Done')).toHaveCount(3, { timeout: 60_000 })
  await expect(batch.getByRole('link', { name: 'Download all (ZIP)' })).toHaveAttribute('href', /^\/api\/jobs\/zip\?ids=([\w-]+,){2}[\w-]+$/)
  // The ZIP takes only the user's own finished jobs, by well-formed ids.
  expect((await page.request.get('/api/jobs/zip?ids=not%20an%20id')).status()).toBe(400)
  expect((await page.request.get('/api/jobs/zip?ids=aaaaaaaaaaaaaaaaaaaaaaaa')).status()).toBe(404)
  await expect(page.getByRole('button', { name: 'Load more' })).toHaveCount(0)

  // Thumbnails are WebP images of the result (82x48, below the 320 px thumbnail size).
  const thumb = page.getByAltText('Thumbnail of single-9.png')
  await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(82)
  const thumbResponse = await page.request.get((await thumb.getAttribute('src'))!)
  expect(thumbResponse.headers()['content-type']).toBe('image/webp')
  await screenshot(page, 'history')

  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download single-9.png' }).click()])
  const meta = await sharp(await readFile((await file.path())!)).metadata()
  expect([meta.format, meta.width, meta.height]).toEqual(['png', 82, 48])

  // Delete has no confirm dialog but an undo: the job leaves the list, and comes back with Undo.
  page.on('dialog', () => {
    throw new Error('no dialog expected')
  })
  await page.getByRole('button', { name: 'Delete single-9.png' }).click()
  await expect(page.getByRole('status')).toContainText('Deleted single-9.png.')
  await expect(page.getByRole('heading', { name: 'single-9.png' })).toHaveCount(0)
  await page.getByRole('button', { name: 'Undo' }).click()
  await expect(page.getByRole('status')).toContainText('Kept single-9.png.')
  await expect(page.getByRole('heading', { name: 'single-9.png' })).toBeVisible()
  // Deleted again, and the page reloaded before the undo ran out: it is deleted all the same.
  await page.getByRole('button', { name: 'Delete single-9.png' }).click()
  await expect(page.getByRole('heading', { name: 'single-9.png' })).toHaveCount(0)
  await page.reload()
  await expect(page.getByRole('heading', { name: 'single-8.png' })).toBeVisible()
  await expect(page.getByRole('heading', { name: 'single-9.png' })).toHaveCount(0)

  // Find jobs: by file name (on the server, across pages), oldest first, as a grid.
  await page.getByLabel('Search by file name').fill('single-1')
  await expect(page.getByRole('heading', { level: 3 })).toHaveText(['single-1.png'])
  await page.getByLabel('Search by file name').fill('nothing-like-this')
  await expect(page.getByText('No job matches.')).toBeVisible()
  await page.getByLabel('Search by file name').fill('')
  await page.getByLabel('Order').selectOption('oldest')
  await expect(page.getByRole('region').first()).toHaveAccessibleName('Batch of 3 photos')
  await page.getByLabel('Status').selectOption('failed')
  await expect(page.getByText('No job matches.')).toBeVisible()
  await page.getByLabel('Status').selectOption('')
  await page.getByLabel('Order').selectOption('newest')
  await page.getByRole('radio', { name: 'Grid' }).check()
  await expect.poll(async () => (await page.getByAltText('Thumbnail of single-8.png').boundingBox())?.width ?? 0).toBeGreaterThan(150)
  await screenshot(page, 'history-grid')
  await page.getByRole('radio', { name: 'List' }).check()

  // On a phone the thumbnails shrink to 72 px and leave the file names their room.
  await page.setViewportSize({ width: 390, height: 844 })
  const small = page.getByAltText('Thumbnail of single-8.png')
  await expect.poll(async () => (await small.boundingBox())?.width).toBe(72)
  const thumbBox = (await small.boundingBox())!
  const nameBox = (await page.getByRole('heading', { name: 'single-8.png' }).boundingBox())!
  expect(nameBox.x).toBeGreaterThanOrEqual(thumbBox.x + thumbBox.width)
  await screenshot(page, 'phone-history-thumbnails')
  await page.setViewportSize({ width: 1280, height: 800 })

  await page.getByRole('link', { name: 'Open single-8.png' }).click()
  await expect(page.getByText('40×24 → 80×48')).toBeVisible()
  await expect(page.getByRole('link', { name: 'Download PNG' })).toBeVisible()
})

test('history: a cancelled job is retried, and an opened job brings back its photo and settings', async ({ page }) => {
  await signUpFresh(page)
  // x3 on a 512 px photo: long enough to cancel.
  await chooseUpscale(page, 3)
  await page.getByLabel('Choose a photo').setInputFiles(fixture('astronaut.png'))
  await page.getByRole('button', { name: 'Upscale ×3' }).click()
  await expect(page.getByRole('heading', { name: 'Processing…' })).toBeVisible()
  await page.getByRole('button', { name: 'Cancel' }).click()
  await expect(page.getByRole('heading', { name: 'Cancelled' })).toBeVisible({ timeout: 30_000 })
  const first = new URL(page.url()).searchParams.get('job')

  // Back to defaults, then History: Retry starts the same job again and the studio follows it.
  await page.goto('/')
  await chooseUpscale(page, 2)
  await page.getByRole('link', { name: 'History' }).click()
  await expect(page.getByRole('listitem').filter({ hasText: 'astronaut.png' })).toContainText('Cancelled')
  await page.getByRole('button', { name: 'Retry astronaut.png' }).click()
  await expect(page.getByRole('heading', { name: 'Processing…' })).toBeVisible()
  const second = new URL(page.url()).searchParams.get('job')
  expect(second).toBeTruthy()
  expect(second).not.toBe(first)
  // Opened, a job shows its own settings and its photo, so it can be changed and run from there.
  await expect(page.getByRole('radio', { name: '×3', exact: true })).toBeChecked()
  await expect(page.getByText(/astronaut\.png · .* · 512×512 px/)).toBeVisible()
  await page.getByRole('button', { name: 'Cancel' }).click()
  await expect(page.getByRole('heading', { name: 'Cancelled' })).toBeVisible({ timeout: 30_000 })
  // A cancelled job is no dead end: the photo and settings are there, and Run starts again.
  await expect(page.getByRole('button', { name: 'Upscale ×3' })).toBeEnabled()
  await screenshot(page, 'history-retried-cancelled')
  await page.getByRole('link', { name: 'History' }).click()
  await expect(page.getByRole('listitem').filter({ hasText: 'astronaut.png' })).toHaveCount(2)
})
