import { decodeJwt } from 'jose'
import type { CognitoAuth } from './cognito'

/**
 * The orchestrator's own Cognito identity. Services accept only Cognito access tokens; when a
 * user's token is gone (a job resumed after a restart) or about to expire, the orchestrator calls
 * the service as itself. Credentials come from the environment (a secret in the cloud).
 */
export class ServiceIdentity {
  private token: { value: string; expiresAt: number } | null = null

  constructor(
    private readonly auth: CognitoAuth,
    private readonly credentials: { email: string; password: string },
  ) {}

  async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt - Date.now() > 60_000) return this.token.value
    const tokens = await this.auth.signIn(this.credentials.email, this.credentials.password)
    this.token = { value: tokens.accessToken, expiresAt: tokenExpiry(tokens.accessToken) }
    return tokens.accessToken
  }
}

/** Milliseconds since the epoch at which a JWT expires (0 if it cannot be read). */
export function tokenExpiry(token: string): number {
  try {
    return (decodeJwt(token).exp ?? 0) * 1000
  } catch {
    return 0
  }
}
