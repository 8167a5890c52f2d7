import { randomUUID } from 'node:crypto'
import { expect, test } from '@playwright/test'
import { LOCAL_CONFIRMATION_CODE } from '../../scripts/lib/local-stack'
import { screenshot, signIn, signUpFresh, smallPhoto } from './helpers'

test('the session survives a reload, and the sign-in page sends a signed-in user to the studio', async ({ page }) => {
  await signIn(page)
  await page.reload()
  await expect(page.getByRole('heading', { name: '1. Choose a task' })).toBeVisible()
  await page.goto('/login')
  await expect(page).toHaveURL(/\/$/)
  await expect(page.getByRole('heading', { name: '1. Choose a task' })).toBeVisible()
})

test('forgotten password: a code is sent, the new password signs in, the old one no longer works', async ({ page }) => {
  const { email, password } = await signUpFresh(page)
  await page.getByRole('button', { name: 'Sign out' }).click()
  await expect(page).toHaveURL(/\/login$/)
  await screenshot(page, 'sign-in')

  await page.getByRole('button', { name: 'Forgot your password?' }).click()
  await expect(page.getByRole('heading', { name: 'Reset your password' })).toBeVisible()
  await page.getByLabel('Email').fill(email)
  await page.getByRole('button', { name: 'Send reset code' }).click()
  await expect(page.getByRole('status')).toContainText('a reset code is on its way')
  await page.getByLabel('Code from the email').fill('12')
  await page.getByLabel('New password').fill('a-brand-new-password')
  await page.getByRole('button', { name: 'Set password and sign in' }).click()
  await expect(page.getByRole('alert')).toHaveText('Enter the code from the email (digits only).')
  await page.getByLabel('Code from the email').fill(LOCAL_CONFIRMATION_CODE)
  await screenshot(page, 'reset-password')
  await page.getByRole('button', { name: 'Set password and sign in' }).click()
  await expect(page.getByRole('heading', { name: '1. Choose a task' })).toBeVisible()

  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.')
})

test('confirm step (signUp answer stubbed as real Cognito gives it; the local emulator confirms at once)', async ({ page }) => {
  const email = `e2e-${randomUUID().slice(0, 8)}@example.com`
  const calls: string[] = []
  // Only the sign-up answer is replaced; confirmSignUp and signIn are stubbed too because the
  // emulator has no unconfirmed user to confirm. What is tested: the page asks for the code,
  // sends it with the address, then signs in with the password typed before.
  await page.route(/\/api\/trpc\/auth\.(signUp|confirmSignUp|signIn)/, async (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop()!
    calls.push(`${name} ${route.request().postData()}`)
    if (name === 'auth.signIn') return route.continue()
    const data = name === 'auth.signUp' ? { signedIn: false, next: 'confirm' } : { confirmed: true }
    const batched = new URL(route.request().url()).searchParams.has('batch')
    await route.fulfill({ contentType: 'application/json', body: JSON.stringify(batched ? [{ result: { data } }] : { result: { data } }) })
  })
  await page.goto('/login')
  await page.getByRole('tab', { name: 'Create account' }).click()
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill('demo-password-1')
  await page.getByRole('button', { name: 'Create account' }).click()
  await expect(page.getByRole('heading', { name: 'Confirm your email' })).toBeVisible()
  await expect(page.getByRole('status')).toContainText(`We sent a code to ${email}`)
  await page.getByLabel('Code from the email').fill('654321')
  await page.getByRole('button', { name: 'Confirm and sign in' }).click()
  await expect.poll(() => calls.length).toBe(3)
  expect(calls[1]).toContain(`"code":"654321"`)
  expect(calls[1]).toContain(email)
  expect(calls[2]).toContain('"password":"demo-password-1"')
})

test('without a session a page asks to sign in and returns there; a session that expires mid-task says so', async ({ page, context }) => {
  await page.goto('/history')
  await expect(page).toHaveURL(/\/login\?next=\/history$/)
  await expect(page.getByRole('status')).toHaveCount(0)
  await page.getByLabel('Email').fill('demo@restora.local')
  await page.getByLabel('Password').fill('demo-password-1')
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await expect(page).toHaveURL(/\/history$/)
  await expect(page.getByRole('heading', { name: 'History' })).toBeVisible()

  // Mid-task: the upload is refused as unauthorised and the person is asked to sign in again.
  await page.goto('/')
  await page.getByLabel('Choose a photo').setInputFiles(await smallPhoto())
  await context.clearCookies()
  await page.getByRole('button', { name: /Upscale ×/ }).click()
  await expect(page).toHaveURL(/\/login\?expired=1$/)
  await expect(page.getByRole('status')).toHaveText('Your session expired. Sign in again to carry on where you were.')
  await page.getByLabel('Email').fill('demo@restora.local')
  await page.getByLabel('Password').fill('demo-password-1')
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await expect(page.getByRole('heading', { name: '1. Choose a task' })).toBeVisible()
})
