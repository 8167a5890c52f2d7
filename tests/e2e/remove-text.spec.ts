import { readFile } from 'node:fs/promises'
import { expect, test } from '@playwright/test'
import sharp from 'sharp'
import { findText, loadOcr } from '../../inference/models/text-removal'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import { buildOverlaySet } from '../helpers/text-overlays'
import { screenshot } from './helpers'

test('remove text: the detected mask is shown, edited with the brush and undo, then the text is gone', async ({ page }, testInfo) => {
  const sample = (await buildOverlaySet(['coffee.png']))[1]! // "SAMPLE" watermark and "© photo studio"
  const png = await sharp(sample.overlaid.data, { raw: { width: 600, height: 400, channels: 3 } })
    .png()
    .toBuffer()

  await page.goto('/login')
  await page.getByLabel('Email').fill(DEMO_USER.email)
  await page.getByLabel('Password').fill(DEMO_USER.password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await page.getByLabel('Remove text').check()
  await page.getByLabel('Upscale', { exact: true }).uncheck()
  await page.getByLabel('Choose a photo').setInputFiles({ name: 'watermarked.png', mimeType: 'image/png', buffer: png })

  await expect(page.getByText(/Found: .*SAMPLE/)).toBeVisible({ timeout: 30_000 })
  const canvas = page.getByLabel('Mask over the photo: red areas are removed')
  await expect(canvas).toBeVisible()
  await expect(page.getByRole('button', { name: 'Undo' })).toBeDisabled()
  // Paint a stroke, then take it back.
  const box = (await canvas.boundingBox())!
  await page.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.8)
  await page.mouse.down()
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.85, { steps: 5 })
  await page.mouse.up()
  await expect(page.getByRole('button', { name: 'Undo' })).toBeEnabled()
  await page.getByRole('button', { name: 'Undo' }).click()
  await page.screenshot({ path: testInfo.outputPath('mask-editor.png'), fullPage: true })
  await screenshot(page, 'mask-editor')

  await page.getByRole('button', { name: 'Remove text', exact: true }).click()
  const download = page.getByRole('link', { name: 'Download PNG' })
  await expect(download).toBeVisible({ timeout: 90_000 })
  // The job says what the removal did: regions removed, and any kept as they were.
  await expect(page.getByLabel('What the steps did')).toContainText(/Removed [1-9]\d* text regions?/)
  const [file] = await Promise.all([page.waitForEvent('download'), download.click()])
  const { data, info } = await sharp(await readFile((await file.path())!))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  expect([info.width, info.height]).toEqual([600, 400])
  const left = await findText(await loadOcr(), { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) })
  expect(left).toEqual([])
})
