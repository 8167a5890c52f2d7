import { createHash } from 'node:crypto'
import { getResponseHeader, setResponseHeader } from 'h3'
import { defineNitroPlugin } from 'nitropack/runtime'

/**
 * The Content-Security-Policy of the HTML pages, with no 'unsafe-inline' for scripts.
 *
 * nuxt.config.ts sets one policy for every response (routeRules '/**'), with `script-src 'self'`:
 * no inline script at all, which is right for the API. Nuxt's SPA shell, though, carries inline
 * scripts: the import map of `#entry` and `window.__NUXT__.config` (the runtime config, which the
 * environment may change at run time, so no hash fixed at build time would do), plus JSON data
 * blocks. So each HTML response's inline scripts are hashed once the document is rendered and
 * their 'sha256-...' sources are added to script-src: a script that was not in the rendered shell
 * cannot run even if it got into the page. The dev server (Vite) needs nothing more: its client is
 * an external same-origin module and its HMR socket is covered by connect-src 'self'.
 */
const SCRIPT_RE = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi
const SRC_ATTR_RE = /\ssrc\s*=/i
const SCRIPT_SRC_RE = /(^|;)(\s*script-src\b[^;]*)/i
/** The policy of nuxt.config.ts, should the response not carry it. */
const FALLBACK_CSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"

/** 'sha256-...' sources for every inline script (one without a src) in the given HTML. */
export function inlineScriptHashes(html: string): string[] {
  const hashes = new Set<string>()
  for (const [, attributes = '', body = ''] of html.matchAll(SCRIPT_RE)) {
    if (SRC_ATTR_RE.test(` ${attributes}`)) continue
    hashes.add(`'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`)
  }
  return [...hashes]
}

/** The policy with the hashes of the document's inline scripts added to its script-src. */
export function withScriptHashes(policy: string, html: string): string {
  const hashes = inlineScriptHashes(html)
  if (!hashes.length) return policy
  const sources = ` ${hashes.join(' ')}`
  return SCRIPT_SRC_RE.test(policy)
    ? policy.replace(SCRIPT_SRC_RE, (_, start: string, directive: string) => `${start}${directive.trimEnd()}${sources}`)
    : `${policy}; script-src 'self'${sources}`
}

export default defineNitroPlugin((nitroApp) => {
  // render:response sees the finished document, after every render:html hook has added its tags.
  nitroApp.hooks.hook('render:response', (response, { event }) => {
    const type = String(response.headers?.['content-type'] ?? '')
    if (!type.startsWith('text/html') || typeof response.body !== 'string') return
    const policy = String(getResponseHeader(event, 'content-security-policy') ?? FALLBACK_CSP)
    setResponseHeader(event, 'content-security-policy', withScriptHashes(policy, response.body))
  })
})
