import { expect, test } from '@playwright/test'
import sharp from 'sharp'
import { screenshot, signIn, smallPhoto } from './helpers'

test('denoise then dehaze a small photo: both steps run in order and the result keeps its size', async ({ page }) => {
  await signIn(page)
  await page.getByLabel('Denoise', { exact: true }).check()
  await page.getByLabel('Enhance', { exact: true }).check()
  await page.getByLabel('Enhance model').selectOption({ label: 'Dehaze (outdoor)' })
  await expect(page.getByText(/removes haze and fog/)).toBeVisible()
  await page.getByLabel('Upscale', { exact: true }).uncheck()
  const pipeline = page.getByRole('list', { name: 'Pipeline' })
  await expect(pipeline.getByRole('listitem')).toHaveText(['Denoise', 'Enhance'])
  await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto(200, 150))
  await page.getByRole('button', { name: 'Denoise + Enhance' }).click()
  const download = page.getByRole('link', { name: 'Download PNG' })
  await expect(download).toBeVisible({ timeout: 110_000 })
  await expect(page.getByText('200×150 → 200×150')).toBeVisible()
  await screenshot(page, 'studio-restore-result')
  const [file] = await Promise.all([page.waitForEvent('download'), download.click()])
  const meta = await sharp((await file.path())!).metadata()
  expect([meta.format, meta.width, meta.height]).toEqual(['png', 200, 150])
})
