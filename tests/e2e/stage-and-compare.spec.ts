import { expect, test } from '@playwright/test'
import { fixture } from '../helpers/images'
import { chooseUpscale, screenshot, signIn, signUpFresh, smallPhoto } from './helpers'

test('the stage: the photo is in view from pick to result, with progress, times and Cancel over it; Run stays in view', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 })
  await signIn(page)
  await chooseUpscale(page, 4)
  await page.getByLabel('Choose a photo').setInputFiles(fixture('chelsea.png'))
  // Picked: the stage shows it at once, not an empty pane.
  await expect(page.getByRole('heading', { name: 'Ready' })).toBeVisible()
  await expect(page.getByAltText('chelsea.png, ready to run')).toBeVisible()
  // The settings and the preview push the button below 800 px; it sticks to the bottom of the screen.
  const run = page.getByRole('button', { name: 'Upscale ×4' })
  await expect(run).toBeInViewport()
  await screenshot(page, 'stage-ready')
  await run.click()
  await expect(page.getByRole('heading', { name: 'Processing…' })).toBeVisible()
  const stage = page.getByRole('figure').filter({ has: page.getByAltText('chelsea.png, being processed') })
  await expect(stage).toBeVisible()
  await expect(stage).toContainText(/\d+% · \d+:\d\d elapsed/)
  await expect(stage.getByRole('button', { name: 'Cancel' })).toBeVisible()
  // One Cancel on screen: the sticky bar's is for phones.
  await expect(page.getByRole('button', { name: 'Cancel' })).toHaveCount(1)
  await screenshot(page, 'stage-processing')
  await expect(page.getByText('451×300 → 1804×1200')).toBeVisible({ timeout: 90_000 })

  // The downloads say their size: the PNG's at once, a JPEG's once the server has made it.
  await expect(page.getByRole('link', { name: /^Download PNG \(\d+(\.\d)? (KB|MB)\)$/ })).toBeVisible()
  await page.getByRole('radio', { name: 'JPEG' }).check()
  await expect(page.getByRole('link', { name: /^Download JPEG \(\d+(\.\d)? (KB|MB)\)$/ })).toBeVisible()
  // Adjust settings: back to the same photo and settings, ready to run again; New photo: the photo goes, the settings stay.
  await page.getByRole('button', { name: 'Adjust settings' }).click()
  await expect(page.getByRole('heading', { name: 'Ready' })).toBeVisible()
  await expect(page.getByRole('button', { name: 'Upscale ×4' })).toBeEnabled()
  await expect(page).not.toHaveURL(/job=/)
})

test('phone: starting a job brings the stage into view, with Cancel in the sticky bar', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 })
  await signIn(page)
  await chooseUpscale(page, 4)
  await page.getByLabel('Choose a photo').setInputFiles(fixture('astronaut.png'))
  await page.getByRole('button', { name: 'Upscale ×4' }).click()
  await expect(page.getByRole('heading', { name: 'Processing…' })).toBeInViewport()
  const cancel = page.getByRole('button', { name: 'Cancel' })
  await expect(cancel).toHaveCount(1)
  await expect(cancel).toBeInViewport()
  await screenshot(page, 'phone-stage-processing')
  await cancel.click()
  await expect(page.getByRole('heading', { name: 'Cancelled' })).toBeVisible({ timeout: 30_000 })
})

test('a first visit: sample photos run a task in one click', async ({ page }) => {
  await signUpFresh(page)
  const samples = page.getByRole('group', { name: 'No photo at hand? Try a sample' })
  await expect(samples.getByRole('button')).toHaveCount(3)
  await screenshot(page, 'samples')
  await samples.getByRole('button', { name: 'Upscale a 192 px portrait ×4' }).click()
  await expect(page.getByText('192×192 → 768×768')).toBeVisible({ timeout: 60_000 })
  await expect(page.getByRole('link', { name: 'Download PNG' })).toBeVisible()

  await page.goto('/')
  await samples.getByRole('button', { name: 'Remove a caption' }).click()
  await expect(page.getByLabel('What the steps did')).toContainText(/Removed [1-9]\d* text regions?/, { timeout: 60_000 })
  await expect(page.getByText('480×320 → 480×320')).toBeVisible()
})

test('compare: hold O for the original, side by side, a lens, a smoothed original, and pinch to zoom', async ({ page }) => {
  await signIn(page)
  await chooseUpscale(page, 2)
  await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto(150, 100, 'cat.png'))
  await page.getByRole('button', { name: 'Upscale ×2' }).click()
  await expect(page.getByRole('link', { name: 'Download PNG' })).toBeVisible({ timeout: 90_000 })
  const compare = page.getByRole('group', { name: /Before and after comparison/ })
  await expect(page.getByText('Keys (click the picture first): hold O original')).toBeVisible()

  // Hold O: the original alone; let go: the divider again.
  await compare.focus()
  await page.keyboard.down('o')
  await expect(compare.getByText('Original', { exact: true })).toBeVisible()
  await expect(compare.getByText('After', { exact: true })).toHaveCount(0)
  await page.keyboard.up('o')
  await expect(compare.getByText('After', { exact: true })).toBeVisible()

  // Side by side: the original's pane left of the result's, both at the same size.
  await page.getByRole('radio', { name: 'Side by side' }).check()
  const before = (await page.getByAltText('Original').boundingBox())!
  const after = (await page.getByAltText('Result').boundingBox())!
  expect(before.x + before.width).toBeLessThanOrEqual(after.x + 1)
  expect(Math.abs(before.width - after.width)).toBeLessThan(1)
  await screenshot(page, 'compare-side-by-side')

  // The lens: a box under the pointer, its size set by the slider.
  await page.getByRole('radio', { name: 'Lens' }).check()
  const box = (await compare.boundingBox())!
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
  const lens = page.getByRole('img', { name: 'Lens: the original on the left, the result on the right' })
  await expect(lens).toBeVisible()
  await page.getByLabel('Lens size').fill('260')
  await expect.poll(async () => Math.round((await lens.boundingBox())?.width ?? 0)).toBe(260)
  await screenshot(page, 'compare-lens')

  // The original smoothed, as a plain resize shows it, instead of hard pixels.
  await page.getByRole('radio', { name: 'Divider' }).check()
  await expect(page.getByAltText('Original')).toHaveCSS('image-rendering', 'pixelated')
  await page.getByLabel('Smooth original').check()
  await expect(page.getByAltText('Original')).toHaveCSS('image-rendering', 'auto')

  // Pinch: two fingers moving apart zoom in.
  const level = page.getByRole('group', { name: 'Zoom' }).locator('output')
  const fitted = await level.textContent()
  const cdp = await page.context().newCDPSession(page)
  // Measured again: checking the box above scrolled the page.
  const now = (await compare.boundingBox())!
  const cx = now.x + now.width / 2
  const cy = now.y + now.height / 2
  const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', spread: number) =>
    cdp.send('Input.dispatchTouchEvent', {
      type,
      touchPoints:
        type === 'touchEnd'
          ? []
          : [
              { x: cx - spread, y: cy, id: 1 },
              { x: cx + spread, y: cy, id: 2 },
            ],
    })
  await touch('touchStart', 20)
  for (const spread of [30, 45, 60, 80]) await touch('touchMove', spread)
  await touch('touchEnd', 0)
  await expect(level).not.toHaveText(fitted!)
})
