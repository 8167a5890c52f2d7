import { expect, type Page, test } from '@playwright/test'
import sharp from 'sharp'
import { screenshot, signIn } from './helpers'

/** A photo without text: a soft gradient, nothing the detector can read. */
async function plainPhoto() {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="360" height="240"><defs><linearGradient id="g"><stop offset="0" stop-color="#3b6e8f"/><stop offset="1" stop-color="#d9a66b"/></linearGradient></defs><rect width="360" height="240" fill="url(#g)"/></svg>`
  return { name: 'plain.png', mimeType: 'image/png', buffer: await sharp(Buffer.from(svg)).png().toBuffer() }
}

async function stroke(page: Page, from: [number, number], to: [number, number], finish = true) {
  const box = (await page.getByLabel('Mask over the photo: red areas are removed').boundingBox())!
  await page.mouse.move(box.x + box.width * from[0], box.y + box.height * from[1])
  await page.mouse.down()
  await page.mouse.move(box.x + box.width * to[0], box.y + box.height * to[1], { steps: 5 })
  if (finish) await page.mouse.up()
}

test('mask editor: an empty mask cannot run; keys undo, redo, size the brush, switch tools and drop a stroke', async ({ page }) => {
  await signIn(page)
  await page.getByLabel('Remove text').check()
  await page.getByLabel('Upscale', { exact: true }).uncheck()
  await page.getByLabel('Choose a photo').setInputFiles(await plainPhoto())
  await expect(page.getByText('No text found: paint over what should go.')).toBeVisible({ timeout: 30_000 })

  // Nothing found and nothing painted: the run would return the same photo, so it is not offered.
  const run = page.getByRole('button', { name: 'Remove text', exact: true })
  const nothing = page.getByText('Nothing is marked to remove.')
  await expect(nothing).toBeVisible()
  await expect(run).toBeDisabled()

  // The brush ring follows the pointer at the brush's size; ] and [ change it.
  const slider = page.getByLabel('Brush size')
  await expect(slider).toHaveValue('24')
  await stroke(page, [0.2, 0.5], [0.6, 0.5])
  await expect(page.locator('.ring')).toBeVisible()
  await expect(run).toBeEnabled()
  await expect(nothing).toHaveCount(0)
  await page.keyboard.press(']')
  await expect(slider).toHaveValue('28')
  await page.keyboard.press('[')
  await page.keyboard.press('[')
  await expect(slider).toHaveValue('20')
  await expect(page.locator('.ring')).toHaveCSS('width', '20px')

  // Ctrl+Z takes the stroke back (empty again), Ctrl+Shift+Z brings it back.
  await page.keyboard.press('Control+z')
  await expect(run).toBeDisabled()
  await expect(page.getByRole('button', { name: 'Redo' })).toBeEnabled()
  await page.keyboard.press('Control+Shift+z')
  await expect(run).toBeEnabled()
  await screenshot(page, 'mask-editor-keys')

  // E picks the eraser: erasing the stroke leaves the mask empty; B picks the brush again.
  await page.keyboard.press('e')
  await expect(page.getByRole('button', { name: 'Eraser' })).toHaveAttribute('aria-pressed', 'true')
  await page.getByLabel('Brush size').fill('96')
  await stroke(page, [0.1, 0.5], [0.7, 0.5])
  await expect(run).toBeDisabled()
  await page.keyboard.press('b')
  await expect(page.getByRole('button', { name: 'Brush' })).toHaveAttribute('aria-pressed', 'true')

  // The wheel zooms at the pointer, Space+drag pans, 0 fits again; painting still lands under the ring.
  const canvas = page.getByLabel('Mask over the photo: red areas are removed')
  const fitted = (await canvas.boundingBox())!
  await page.mouse.move(fitted.x + fitted.width / 2, fitted.y + fitted.height / 2)
  await page.mouse.wheel(0, -400)
  await expect.poll(async () => (await canvas.boundingBox())!.width).toBeGreaterThan(fitted.width * 1.5)
  const zoomed = (await canvas.boundingBox())!
  await page.keyboard.down(' ')
  await page.mouse.down()
  await page.mouse.move(fitted.x + fitted.width / 2 + 80, fitted.y + fitted.height / 2 + 40, { steps: 4 })
  await page.mouse.up()
  await page.keyboard.up(' ')
  await expect.poll(async () => Math.round((await canvas.boundingBox())!.x - zoomed.x)).toBe(80)
  // A pan is no stroke: still nothing marked.
  await expect(run).toBeDisabled()
  await screenshot(page, 'mask-editor-zoomed')
  await page.keyboard.press('0')
  await expect.poll(async () => Math.round((await canvas.boundingBox())!.width)).toBe(Math.round(fitted.width))

  // Esc while painting drops that stroke: still nothing marked.
  await stroke(page, [0.3, 0.3], [0.5, 0.6], false)
  await page.keyboard.press('Escape')
  await page.mouse.up()
  await expect(run).toBeDisabled()
  await expect(nothing).toBeVisible()
})
