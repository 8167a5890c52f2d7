import { execFile } from 'node:child_process'
import { mkdtemp, readdir, copyFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, test } from '@playwright/test'
import sharp from 'sharp'
import { DEMO_USER } from '../../scripts/lib/local-stack'
import { fixture } from '../helpers/images'

const run = promisify(execFile)

/** The CLI against the same running server the browser tests use. */
test('the CLI upscales a folder with a pipeline and reports the bad file', async ({ baseURL }) => {
  const dir = await mkdtemp(join(tmpdir(), 'restora-cli-'))
  const input = join(dir, 'in')
  await run('mkdir', ['-p', input])
  // Small copies: two x2 passes over the whole photos were a minute of the services' time (camera.png to 2048x2048).
  await sharp(fixture('chelsea.png')).resize(150, 100).png().toFile(join(input, 'chelsea.png'))
  await sharp(fixture('camera.png')).resize(128, 128).png().toFile(join(input, 'camera.png'))
  await copyFile(fixture('truncated.jpg'), join(input, 'truncated.jpg'))
  const env = { ...process.env, RESTORA_URL: baseURL!, RESTORA_EMAIL: DEMO_USER.email, RESTORA_PASSWORD: DEMO_USER.password }
  const result = await run(
    process.execPath,
    ['bin/restora.mjs', 'pipeline', input, '--steps', 'upscale:esrgan-medium:2,upscale:esrgan-medium:2', '-o', join(dir, 'out')],
    { env },
  ).catch((e) => e)
  expect(result.code).toBe(1) // one file failed
  expect(result.stdout).toContain('2 of 3 images restored')
  expect(result.stderr).toMatch(/truncated\.jpg: The file is damaged/)
  expect((await readdir(join(dir, 'out'))).sort()).toEqual(['camera.png', 'chelsea.png'])
  const meta = await sharp(await readFile(join(dir, 'out', 'chelsea.png'))).metadata()
  expect([meta.width, meta.height]).toEqual([600, 400])
})

test('the CLI refuses a wrong password with a clear message', async ({ baseURL }) => {
  const env = { ...process.env, RESTORA_URL: baseURL!, RESTORA_EMAIL: DEMO_USER.email, RESTORA_PASSWORD: 'wrong-password' }
  const result = await run(process.execPath, ['bin/restora.mjs', 'upscale', fixture('chelsea.png')], { env }).catch((e) => e)
  expect(result.code).toBe(1)
  expect(result.stderr.trim()).toBe('restora: Wrong email or password.')
})
