import { readFile } from 'node:fs/promises'
import { expect, test } from '@playwright/test'
import sharp from 'sharp'
import { fixture } from '../helpers/images'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import { chooseUpscale, screenshot, signIn, smallPhoto } from './helpers'

test('a pipeline of two upscales runs step by step and gives x4 in two passes', async ({ page }) => {
  await signIn(page)
  await screenshot(page, 'studio-empty')
  await chooseUpscale(page, 2)
  await page.getByLabel(/Upscale twice/).check()
  await expect(page.getByRole('list', { name: 'Pipeline' })).toHaveText(/Upscale ×2.*Upscale ×2/)
  await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto(120, 80))
  await expect(page.getByText('120×80 px, result 480×320')).toBeVisible()
  await page.getByRole('button', { name: 'Upscale ×2 + Upscale ×2' }).click()
  await expect(page.getByText(/Step [12] of 2, upscale ×2/)).toBeVisible({ timeout: 60_000 })
  await expect(page.getByText('120×80 → 480×320')).toBeVisible({ timeout: 90_000 })
  await expect(page.getByRole('heading', { name: /Result/ })).toBeVisible()
})

test('download as JPEG and WebP with a quality setting, and zoom the comparison to actual pixels', async ({ page }) => {
  await signIn(page)
  await chooseUpscale(page, 2)
  await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto(150, 100, 'cat.png'))
  await page.getByRole('button', { name: 'Upscale ×2' }).click()
  await expect(page.getByRole('link', { name: 'Download PNG' })).toBeVisible({ timeout: 90_000 })

  // 1:1: the result is drawn one image pixel per screen pixel; Fit brings it back.
  await page.getByRole('button', { name: '1:1' }).click()
  const result = page.getByAltText('Result')
  await expect.poll(async () => (await result.boundingBox())?.width).toBe(300)
  await page.getByRole('button', { name: 'Zoom in' }).click()
  await expect.poll(async () => (await result.boundingBox())?.width).toBe(450)
  await page.getByRole('button', { name: 'Fit' }).click()

  await page.getByRole('radio', { name: 'JPEG' }).check()
  await page.getByLabel('Download quality').fill('60')
  const [jpeg] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download JPEG' }).click()])
  expect(jpeg.suggestedFilename()).toMatch(/^cat-realesrgan-general-x4-x2\.jpg$/)
  const jpegBytes = await readFile((await jpeg.path())!)
  const jpegMeta = await sharp(jpegBytes).metadata()
  expect([jpegMeta.format, jpegMeta.width, jpegMeta.height]).toEqual(['jpeg', 300, 200])

  await page.getByLabel('Download quality').fill('100')
  const [best] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download JPEG' }).click()])
  expect((await readFile((await best.path())!)).length).toBeGreaterThan(jpegBytes.length)

  await page.getByRole('radio', { name: 'WebP' }).check()
  const [webp] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download WebP' }).click()])
  expect(webp.suggestedFilename()).toBe('cat-realesrgan-general-x4-x2.webp')
  expect((await sharp(await readFile((await webp.path())!)).metadata()).format).toBe('webp')
})

test('a clean image upscaled to an exact width: the clean-source model, the size shown before and after', async ({ page }) => {
  await signIn(page)
  await page.getByRole('radio', { name: 'Clean image' }).check()
  await page.getByRole('radio', { name: 'Balanced' }).check()
  await page.getByLabel('Upscale to a width in pixels').fill('250')
  await expect(page.getByLabel(/Upscale twice/)).toHaveCount(0)
  await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto(100, 60, 'drawing.png'))
  await expect(page.getByText('100×60 px, result 250×150')).toBeVisible()
  await page.getByRole('button', { name: 'Upscale to 250 px wide' }).click()
  await expect(page.getByText('100×60 → 250×150')).toBeVisible({ timeout: 90_000 })
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download PNG' }).click()])
  expect(file.suggestedFilename()).toBe('drawing-esrgan-medium-w250.png')
  expect((await sharp(await readFile((await file.path())!)).metadata()).width).toBe(250)
})

test("use the result as new input: a second run starts from the first one's output", async ({ page }) => {
  await signIn(page)
  await chooseUpscale(page, 2)
  await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto(60, 40, 'tiny.png'))
  await page.getByRole('button', { name: 'Upscale ×2' }).click()
  await expect(page.getByText('60×40 → 120×80')).toBeVisible({ timeout: 90_000 })
  await page.getByRole('button', { name: 'Use result as new input' }).click()
  await expect(page.getByText(/tiny-x2\.png · .* · 120×80 px, result 240×160/)).toBeVisible()
  // The first result stays at hand in a strip under the stage.
  const earlier = page.getByRole('list', { name: 'Earlier results' })
  await expect(earlier.getByRole('link')).toHaveCount(1)
  await page.getByRole('button', { name: 'Upscale ×2' }).click()
  await expect(page.getByText('120×80 → 240×160')).toBeVisible({ timeout: 90_000 })
  await expect(earlier.getByRole('link', { name: 'Open the earlier result of tiny.png, 120×80' })).toBeVisible()
  await screenshot(page, 'studio-earlier-results')
  await earlier.getByRole('link').click()
  await expect(page.getByText('60×40 → 120×80')).toBeVisible()
})

test('a file over the size limit is refused before upload, with the limit and a way forward', async ({ page }) => {
  await signIn(page)
  await expect(page.getByText(/Up to 25 MB and 16 MP per photo/)).toBeVisible()
  // A real PNG header followed by 26 MB: the page must refuse it by size alone, without uploading.
  const header = await sharp(fixture('chelsea.png')).png().toBuffer()
  const big = Buffer.concat([header, Buffer.alloc(26 * 1048576)])
  let uploads = 0
  page.on('request', (r) => void (r.url().includes('jobs.create') && uploads++))
  await page.getByLabel('Choose a photo').setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: big })
  await expect(page.getByRole('alert')).toContainText('huge.png is 26 MB; the limit is 25 MB.')
  await expect(page.getByRole('alert')).toContainText('Save it smaller')
  await screenshot(page, 'error-too-large')
  expect(uploads).toBe(0)
})

test('a photo whose result would exceed the output limit is flagged before upload', async ({ page }) => {
  await signIn(page)
  await chooseUpscale(page, 4)
  // 2400x1800 = 4.3 MP in, x4 = 69 MP out: over the 64 MP output limit.
  const large = await sharp({ create: { width: 2400, height: 1800, channels: 3, background: '#7a8' } })
    .jpeg()
    .toBuffer()
  await page.getByLabel('Choose a photo').setInputFiles({ name: 'large.jpg', mimeType: 'image/jpeg', buffer: large })
  await expect(page.getByRole('alert')).toContainText('×4 would make 9600×7200 (69 MP), over the 64 MP limit')
  await expect(page.getByRole('button', { name: 'Upscale ×4' })).toBeDisabled()
  await chooseUpscale(page, 2)
  await expect(page.getByRole('alert')).toHaveCount(0)
  await expect(page.getByRole('button', { name: 'Upscale ×2' })).toBeEnabled()
})

test('a photo can be pasted from the clipboard or dropped on the page, with upload progress shown', async ({ page }) => {
  await signIn(page)
  const photo = await smallPhoto(90, 60)
  const base64 = photo.buffer.toString('base64')
  await page.evaluate((data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0))
    const transfer = new DataTransfer()
    transfer.items.add(new File([bytes], 'image.png', { type: 'image/png' }))
    document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true }))
  }, base64)
  await expect(page.getByText(/pasted-.*\.png · .* · 90×60 px/)).toBeVisible()

  const drop = await page.evaluateHandle((data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0))
    const transfer = new DataTransfer()
    transfer.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }))
    return transfer
  }, base64)
  await page.locator('.drop').dispatchEvent('drop', { dataTransfer: drop })
  await expect(page.getByText(/dropped\.png · .* · 90×60 px/)).toBeVisible()
  // Dropped anywhere on the page, not only on the drop zone: the studio takes it (the browser would open the file).
  const elsewhere = await page.evaluateHandle((data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0))
    const transfer = new DataTransfer()
    transfer.items.add(new File([bytes], 'dropped-on-heading.png', { type: 'image/png' }))
    return transfer
  }, base64)
  await page.getByRole('heading', { name: '1. Choose a task' }).dispatchEvent('dragover', { dataTransfer: elsewhere })
  await expect(page.locator('.drop.dragging')).toBeVisible()
  await page.getByRole('heading', { name: '1. Choose a task' }).dispatchEvent('drop', { dataTransfer: elsewhere })
  await expect(page.getByText(/dropped-on-heading\.png · .* · 90×60 px/)).toBeVisible()

  // Upload progress comes from XMLHttpRequest's upload events: slow the upload down to see it.
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 50, downloadThroughput: -1, uploadThroughput: 20 * 1024 })
  await page.getByLabel('Choose a photo').setInputFiles(fixture('chelsea.png'))
  await chooseUpscale(page, 2)
  await page.getByRole('button', { name: 'Upscale ×2' }).click()
  await expect(page.getByRole('progressbar', { name: 'Upload progress' })).toBeVisible()
  await expect(page.getByText(/Uploading \d+%/)).toBeVisible()
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
  await expect(page.getByText('451×300 → 902×600')).toBeVisible({ timeout: 90_000 })
})

test('phone width: the studio and its result fit the screen without sideways scrolling', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 })
  await signIn(page)
  await screenshot(page, 'phone-studio')
  await chooseUpscale(page, 2)
  await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto(120, 80))
  await page.getByRole('button', { name: 'Upscale ×2' }).click()
  await expect(page.getByRole('link', { name: 'Download PNG' })).toBeVisible({ timeout: 90_000 })
  await screenshot(page, 'phone-result')
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
  await page.goto('/history')
  await expect(page.getByRole('heading', { name: 'History' })).toBeVisible()
  await screenshot(page, 'phone-history')
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
})

test('cancel a running job', async ({ page }) => {
  await signIn(page)
  await chooseUpscale(page, 4)
  await page.getByLabel('Choose a photo').setInputFiles(fixture('astronaut.png'))
  await page.getByRole('button', { name: 'Upscale ×4' }).click()
  await expect(page.getByRole('heading', { name: 'Processing…' })).toBeVisible()
  await screenshot(page, 'studio-processing')
  await page.getByRole('button', { name: 'Cancel' }).click()
  await expect(page.getByRole('heading', { name: 'Cancelled' })).toBeVisible({ timeout: 30_000 })
  await expect(page.getByRole('button', { name: 'Upscale ×4' })).toBeEnabled()
})

test('a running job survives a reload: its id is in the URL, its progress and the task controls come back at once', async ({ page }) => {
  await signIn(page)
  await chooseUpscale(page, 4)
  await page.getByLabel('Choose a photo').setInputFiles(fixture('astronaut.png'))
  await page.getByRole('button', { name: 'Upscale ×4' }).click()
  await expect(page.getByRole('heading', { name: 'Processing…' })).toBeVisible()
  await expect(page).toHaveURL(/[?&]job=[\w-]+/)
  const url = page.url()
  await page.reload()
  // The job, followed again (the upscale service is busy with it: the page neither waits for it nor hides its task).
  await expect(page.getByRole('heading', { name: 'Processing…' })).toBeVisible({ timeout: 10_000 })
  await expect(page.getByRole('radio', { name: '×4', exact: true })).toBeVisible()
  await expect(page.getByRole('button', { name: 'Choose a task' })).toHaveCount(0)
  expect(page.url()).toBe(url)
  // The time since the job was created, counted from its record, not from the page's start (the estimate: unit tests).
  await expect(page.getByText(/\d+% · \d+:\d\d elapsed/)).toBeVisible()
  await screenshot(page, 'studio-reloaded-while-running')
  await page.getByRole('button', { name: 'Cancel' }).click()
  await expect(page.getByRole('heading', { name: 'Cancelled' })).toBeVisible({ timeout: 30_000 })
})

test("a model's own size limit is checked before upload, with a way forward that fits the pipeline", async ({ page }) => {
  await signIn(page)
  await page.getByLabel('Denoise', { exact: true }).check()
  await page.getByLabel('Upscale', { exact: true }).uncheck()
  let uploads = 0
  page.on('request', (r) => void (r.url().includes('jobs.create') && uploads++))
  // 2400x1800 = 4.3 MP: within the site's 16 MP, over denoising's 4 MP (a job must finish in time).
  const large = await sharp({ create: { width: 2400, height: 1800, channels: 3, background: '#7a8' } })
    .jpeg()
    .toBuffer()
  await page.getByLabel('Choose a photo').setInputFiles({ name: 'large.jpg', mimeType: 'image/jpeg', buffer: large })
  const alert = page.getByRole('alert')
  await expect(alert).toContainText('MAXIM denoising takes photos up to 4.0 MP')
  await expect(alert).toContainText('Resize it to 4.0 MP or less first.')
  // No upscale was chosen: no word of scales.
  await expect(alert).not.toContainText(/scale/i)
  await expect(page.getByRole('button', { name: 'Denoise', exact: true })).toBeDisabled()
  await screenshot(page, 'error-model-limit')
  expect(uploads).toBe(0)
})

test('the task list: a placeholder while it first loads, and from the tab’s cache at once on a reload', async ({ page }) => {
  // The services answer the list slowly (busy): 3 s.
  await page.route('**/api/trpc/**models.list**', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 3000))
    await route.continue()
  })
  await page.goto('/login')
  await page.getByLabel('Email').fill(DEMO_USER.email)
  await page.getByLabel('Password').fill(DEMO_USER.password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await expect(page.getByRole('status', { name: 'Loading the tasks the services offer' })).toBeVisible()
  await screenshot(page, 'studio-loading-tasks')
  await expect(page.getByLabel('Upscale', { exact: true })).toBeVisible({ timeout: 15_000 })
  await page.reload()
  // Within the 3 s the list takes: the cached one is already there.
  await expect(page.getByLabel('Upscale', { exact: true })).toBeVisible({ timeout: 2000 })
  await expect(page.getByRole('status', { name: 'Loading the tasks the services offer' })).toHaveCount(0)
})

test('presets set a common pipeline in one click, shown as numbered steps with their order explained', async ({ page }) => {
  await signIn(page)
  const presets = page.getByRole('group', { name: 'Presets' })
  await presets.getByRole('button', { name: 'Night phone photo' }).click()
  await expect(page.getByLabel('Denoise', { exact: true })).toBeChecked()
  await expect(page.getByLabel('Enhance', { exact: true })).toBeChecked()
  await expect(page.getByLabel('Upscale', { exact: true })).not.toBeChecked()
  await expect(page.getByLabel('Enhance model')).toHaveValue('maxim-enhancement')
  const pipeline = page.getByRole('list', { name: 'Pipeline' })
  await expect(pipeline.getByRole('listitem')).toHaveText(['Denoise', 'Enhance'])
  await expect(page.getByText('In this order: steps that keep the size run first, upscaling last')).toBeVisible()

  await presets.getByRole('button', { name: 'Captioned screenshot' }).click()
  await expect(page.getByLabel('Remove text')).toBeChecked()
  await expect(page.getByLabel('Denoise', { exact: true })).not.toBeChecked()
  await expect(page.getByRole('radio', { name: 'Clean image' })).toBeChecked()
  await expect(pipeline.getByRole('listitem')).toHaveText(['Remove text', 'Upscale ×2'])
  await screenshot(page, 'studio-preset')
})

test("tools are cards that say what each does and how long it takes, from the models' measured cost; a job's first estimate comes from it, then its tiles as they come", async ({
  page,
}) => {
  await signIn(page)
  const upscale = page.getByLabel('Upscale', { exact: true })
  // No photo yet: the time per megapixel; with one: the time for that photo, and the pipeline's total.
  await expect(upscale).toHaveAccessibleDescription(/^Enlarge 2-8×.*about \d+ (s|min) per megapixel$/)
  await page.getByLabel('Choose a photo').setInputFiles(fixture('astronaut.png'))
  await expect(upscale).toHaveAccessibleDescription(/(about \d+ (s|min)|under a second) for this photo$/)
  await page.getByLabel('Denoise', { exact: true }).check()
  await expect(page.getByLabel('Denoise', { exact: true })).toHaveAccessibleDescription(/^Clear grain.*about \d+ (s|min) for this photo$/)
  await expect(page.getByText(/In all about \d+ (s|min) for this photo\./)).toBeVisible()
  await screenshot(page, 'studio-task-cards')

  // Denoising 512x512 is nine MAXIM tiles: before the first is done, the time left is the measured cost's.
  await upscale.uncheck()
  await page.getByRole('button', { name: 'Denoise', exact: true }).click()
  const stage = page.getByRole('figure').filter({ has: page.getByAltText('astronaut.png, being processed') })
  await expect(stage).toContainText(/about \d+:\d\d left \(estimate\)/, { timeout: 30_000 })
  await screenshot(page, 'stage-estimate')
  // Live tiles: the service's previews of the output so far (every 2 s at most) show over the photo as they come.
  const tiles = stage.getByAltText('astronaut.png, the tiles done so far')
  await expect(tiles).toHaveClass(/shown/, { timeout: 60_000 })
  expect(await tiles.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([384, 384])
  await screenshot(page, 'stage-live-tiles')
  await stage.getByRole('button', { name: 'Cancel' }).click()
  await expect(page.getByRole('heading', { name: 'Cancelled' })).toBeVisible({ timeout: 30_000 })
})
