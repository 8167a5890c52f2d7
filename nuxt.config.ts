// https://nuxt.com/docs/api/configuration/nuxt-config
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
    tsConfig: { exclude: ['../sst.config.ts', '../tests/infra/sst-mocks.ts'] },
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
        // Nuxt's SPA shell carries its config in one inline script, hence 'unsafe-inline' for scripts
        // (no user content is ever rendered as HTML); everything else is same-origin only.
        'content-security-policy':
          "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
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
