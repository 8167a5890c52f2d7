import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { TRPCError } from '@trpc/server'
import { importJWK, SignJWT, type JWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { callerFor, createTestApp } from '../helpers/caller'
import { forgedAccessToken, signInDirect, stackEnv } from '../helpers/auth'
import { fixture } from '../helpers/images'

/**
 * Tokens signed with the emulator's real key (it ships in the npm package) but with one claim
 * wrong: they prove each check is made, not just the signature's.
 */
async function emulatorSigned(claims: Record<string, unknown>, expiresIn: string | number = '1h') {
  const env = stackEnv()
  const dir = dirname(createRequire(import.meta.url).resolve('cognito-local'))
  const { jwk } = JSON.parse(await readFile(join(dir, 'keys', 'cognitoLocal.private.json'), 'utf8')) as { jwk: JWK }
  const key = await importJWK(jwk, 'RS256')
  return new SignJWT({ token_use: 'access', client_id: env.COGNITO_CLIENT_ID, username: 'someone', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'CognitoLocal' })
    .setIssuer((claims.iss as string) ?? env.COGNITO_ISSUER!)
    .setSubject('someone')
    .setIssuedAt(typeof expiresIn === 'number' ? expiresIn - 3600 : undefined)
    .setExpirationTime(expiresIn)
    .sign(key)
}

const unsigned = () => {
  const env = stackEnv()
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: env.COGNITO_ISSUER, token_use: 'access', client_id: env.COGNITO_CLIENT_ID, sub: 'x', exp: Math.floor(Date.now() / 1000) + 3600 })}.`
}

const ATTACKS: [string, () => Promise<string | null>][] = [
  ['no token', async () => null],
  ['a valid-looking token signed with another key', () => forgedAccessToken()],
  ['alg: none', async () => unsigned()],
  ['an expired token', () => emulatorSigned({}, Math.floor(Date.now() / 1000) - 120)],
  ['a wrong issuer', () => emulatorSigned({ iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_evil' })],
  ['another app client', () => emulatorSigned({ client_id: 'someone-elses-client' })],
  ['an ID token instead of an access token', async () => (await signInDirect()).idToken],
  ['garbage', async () => 'a.b.c'],
]

describe('a control: a correctly signed token with the right claims is accepted', () => {
  it('by the orchestrator', async () => {
    const { caller, session } = callerFor(createTestApp())
    session.accessToken = await emulatorSigned({})
    expect((await caller.jobs.list({})).items).toEqual([])
  })
})

describe.each(ATTACKS)('%s', (_name, token) => {
  it('is rejected by the orchestrator (UNAUTHORIZED)', async () => {
    const { caller, session } = callerFor(createTestApp())
    session.accessToken = await token()
    const error = await caller.jobs.list({}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TRPCError)
    expect((error as TRPCError).code).toBe('UNAUTHORIZED')
  })

  it('is rejected by the inference service (401)', async () => {
    const value = await token()
    const response = await fetch(`${stackEnv().UPSCALE_SERVICE_URLS}/v1/run?model=esrgan-medium&options=%7B%22scale%22%3A2%7D`, {
      method: 'POST',
      body: await readFile(fixture('chelsea.png')),
      headers: value ? { authorization: `Bearer ${value}` } : {},
    })
    expect(response.status).toBe(401)
    expect((await response.json()).code).toBe('unauthorized')
  })
})
