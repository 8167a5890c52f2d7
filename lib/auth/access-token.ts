import { createRemoteJWKSet, errors, jwtVerify } from 'jose'

/**
 * Verifies Cognito access tokens: RS256 signature against the pool's JWKS, issuer, expiry,
 * token_use and app client. The orchestrator and every inference service use this one function,
 * against AWS Cognito and the local emulator alike (only the issuer URL differs).
 */
export interface TokenIssuer {
  /** e.g. https://cognito-idp.<region>.amazonaws.com/<poolId>, or the emulator's URL. */
  issuer: string
  clientId: string
  /** Defaults to `${issuer}/.well-known/jwks.json`, where Cognito publishes its keys. */
  jwksUrl?: string
}

export interface VerifiedUser {
  /** Stable user id (Cognito `sub`). */
  sub: string
  username: string
  /** The token's own id (Cognito: a UUID); the orchestrator's sign-out deny-list is keyed by it. */
  jti?: string
  /** Seconds since the epoch: issued at, expires at (always there in a verified token). */
  iat?: number
  exp?: number
  /** When the user signed in (Cognito keeps it across refreshes; absent: `iat`). */
  authTime?: number
}

export class InvalidTokenError extends Error {}

export function createAccessTokenVerifier(config: TokenIssuer) {
  const jwks = createRemoteJWKSet(new URL(config.jwksUrl ?? `${config.issuer}/.well-known/jwks.json`), { cooldownDuration: 30_000 })
  return async function verifyAccessToken(token: string | undefined | null): Promise<VerifiedUser> {
    if (!token) throw new InvalidTokenError('No access token: sign in first.')
    let payload
    try {
      ;({ payload } = await jwtVerify(token, jwks, { issuer: config.issuer, algorithms: ['RS256'], clockTolerance: 5 }))
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new InvalidTokenError('Your session has expired: sign in again.')
      throw new InvalidTokenError(`The access token is not valid (${(error as Error).message}).`)
    }
    if (payload.token_use !== 'access') throw new InvalidTokenError('An access token is required (got a different token type).')
    if (payload.client_id !== config.clientId) throw new InvalidTokenError('The access token was issued to a different app client.')
    if (typeof payload.sub !== 'string') throw new InvalidTokenError('The access token has no subject.')
    if (typeof payload.exp !== 'number') throw new InvalidTokenError('The access token has no expiry.')
    return {
      sub: payload.sub,
      username: typeof payload.username === 'string' ? payload.username : payload.sub,
      jti: typeof payload.jti === 'string' ? payload.jti : undefined,
      iat: typeof payload.iat === 'number' ? payload.iat : undefined,
      exp: payload.exp,
      authTime: typeof payload.auth_time === 'number' ? payload.auth_time : undefined,
    }
  }
}

export function issuerFromEnv(env: NodeJS.ProcessEnv = process.env): TokenIssuer {
  const issuer = env.COGNITO_ISSUER
  const clientId = env.COGNITO_CLIENT_ID
  if (!issuer || !clientId) throw new Error('COGNITO_ISSUER and COGNITO_CLIENT_ID must be set (the local stack sets them; see README).')
  return { issuer, clientId, jwksUrl: env.COGNITO_JWKS_URL || undefined }
}
