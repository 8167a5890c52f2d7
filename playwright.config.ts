import { defineConfig } from '@playwright/test'

const PORT = Number(process.env.E2E_WEB_PORT ?? 3100)

/**
 * End-to-end tests drive Debian's Chromium (never a downloaded browser) against the built app,
 * started with the same script as `npm run dev -- --prod`, on ports of its own.
 */
export default defineConfig({
  testDir: 'tests/e2e',
  outputDir: 'test-results/e2e',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-gpu', '--no-first-run'],
    },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
  webServer: {
    command: `node --import tsx scripts/dev.ts --prod --web-port ${PORT} --cognito-port ${process.env.E2E_COGNITO_PORT ?? 9529} --service-port-offset ${process.env.E2E_SERVICE_PORT_OFFSET ?? 200} --data-dir ${process.env.E2E_DATA_DIR ?? '.data-e2e'}`,
    url: `http://127.0.0.1:${PORT}/api/health`,
    // /api/health waits for every service; the two MAXIM services load seven 64-100 MB graphs.
    timeout: 400_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  },
})
