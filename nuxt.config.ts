// https://nuxt.com/docs/api/configuration/nuxt-config
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

/**
 * Nuxt's own 404 and 500 pages add one inline script in the browser (a modulepreload polyfill,
 * through useHead); the CSP allows it by its sha256, read from the installed Nuxt so an upgrade
 * keeps it right (tests/e2e/csp.spec.ts loads the 404 page). Every other inline script is hashed
 * per response by server/plugins/csp.ts.
 */
function nuxtErrorPageScriptHashes() {
  const hashes = new Set<string>()
  for (const page of ['error-404.vue', 'error-500.vue']) {
    const source = readFileSync(new URL(`node_modules/nuxt/dist/app/components/${page}`, import.meta.url), 'utf8')
    const script = /script:\s*\[\s*\{\s*innerHTML:\s*`([^`\\]*)`/.exec(source)?.[1]
    if (script !== undefined && !script.includes('${')) hashes.add(`'sha256-${createHash('sha256').update(script).digest('base64')}'`)
  }
  return [...hashes].join(' ')
}

export default defineNuxtConfig({
  compatibilityDate: '2026-11-01',
  // The owner's layout keeps pages/, components/ and server/ at the top level.
  srcDir: '.',
  serverDir: 'server',
  devtools: { enabled: false },
  telemetry: false,
  // A signed-in tool: pages render in the browser, the API is the server's only job.
  ssr: false,
  // trpc-nuxt ships untranspiled ESM that Nitro must bundle, or every tRPC route answers 500.
  build: { transpile: ['trpc-nuxt'] },
  typescript: {
    strict: true,
    // Type-checked on their own against SST's platform types (tsconfig.sst.json); sst-mocks.ts runs only inside SST's bundle.
    // SST's modules use its globals (sst, aws, $app): tsconfig.sst.json checks them.
    tsConfig: { exclude: ['../sst.config.ts', '../infra/*.ts', '../tests/infra/sst-mocks.ts'] },
  },
  runtimeConfig: {
    public: {
      // Shown on the sign-in page by the local stack only.
      demoEmail: '',
      demoPassword: '',
    },
  },
  routeRules: {
    '/**': {
      headers: {
        // Same-origin only; no inline script but Nuxt's error pages' one, by its hash. HTML pages get
        // this policy with the sha256 of each inline script of Nuxt's SPA shell added (server/plugins/csp.ts).
        'content-security-policy': `default-src 'self'; script-src 'self' ${nuxtErrorPageScriptHashes()}; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'`,
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'same-origin',
      },
    },
  },
  nitro: {
    // Native addons must stay external: Nitro cannot bundle .node binaries.
    externals: { external: ['sharp', 'onnxruntime-node'] },
  },
  app: { head: { title: 'Restora', htmlAttrs: { lang: 'en' }, meta: [{ name: 'viewport', content: 'width=device-width, initial-scale=1' }] } },
})
