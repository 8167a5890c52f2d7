// Writes .sst/platform (SST's components and their Pulumi packages, from the npm registry) so that
// sst.config.ts can be type-checked and evaluated offline (tests/infra/). Needs no AWS account.
// Skipped when the platform already matches the installed sst CLI.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'

const wanted = JSON.parse(readFileSync('node_modules/sst/package.json', 'utf8')).version as string
const installed = existsSync('.sst/platform/version') ? readFileSync('.sst/platform/version', 'utf8').trim() : ''
if (installed === wanted && existsSync('.sst/platform/node_modules/@pulumi/aws/package.json')) {
  console.log(`.sst/platform is up to date (sst ${wanted})`)
  process.exit(0)
}
const result = spawnSync(process.execPath, ['node_modules/sst/bin/sst.mjs', 'install', '--stage', 'ci'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    // No telemetry, npm instead of a downloaded bun, and no dependency check that wants a deployed app.
    SST_TELEMETRY_DISABLED: '1',
    SST_NO_BUN: '1',
    SST_SKIP_DEPENDENCY_CHECK: '1',
  },
})
process.exit(result.status ?? 1)
