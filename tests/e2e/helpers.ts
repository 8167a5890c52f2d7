import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { expect, type Page } from '@playwright/test'
import sharp from 'sharp'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import { fixture } from '../helpers/images'

/** Screenshots of the main screens, kept as artifacts at stable paths: test-results/screens/<name>.png. */
export const SCREENS_DIR = resolve(import.meta.dirname, '../../test-results/screens')

export async function screenshot(page: Page, name: string) {
  await mkdir(SCREENS_DIR, { recursive: true })
  await page.screenshot({ path: resolve(SCREENS_DIR, `${name}.png`), fullPage: true })
}

export async function signIn(page: Page, email = DEMO_USER.email, password = DEMO_USER.password) {
  await page.goto('/login')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await expect(page.getByRole('heading', { name: '1. Choose a task' })).toBeVisible()
}

/** A fresh account (confirmed at once by the local emulator), so its history starts empty. */
export async function signUpFresh(page: Page) {
  const email = `e2e-${randomUUID().slice(0, 8)}@example.com`
  const password = 'a-long-enough-password'
  await page.goto('/login')
  await page.getByRole('tab', { name: 'Create account' }).click()
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Create account' }).click()
  await expect(page.getByRole('heading', { name: '1. Choose a task' })).toBeVisible()
  return { email, password }
}

/** A small real photo (chelsea.png scaled down), so model runs stay quick on a shared CPU. */
export async function smallPhoto(width = 120, height = 80, name = 'small-chelsea.png') {
  const buffer = await sharp(fixture('chelsea.png')).resize(width, height, { fit: 'fill' }).png().toBuffer()
  return { name, mimeType: 'image/png', buffer }
}

/** Chooses the upscale settings of the studio. */
export async function chooseUpscale(page: Page, scale: number, quality = 'Balanced') {
  await page.getByRole('radio', { name: `×${scale}`, exact: true }).check()
  await page.getByRole('radio', { name: quality }).check()
}
