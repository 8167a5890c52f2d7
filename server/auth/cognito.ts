import {
  AdminConfirmSignUpCommand,
  CognitoIdentityProviderClient,
  ConfirmForgotPasswordCommand,
  ConfirmSignUpCommand,
  ForgotPasswordCommand,
  GetUserCommand,
  GlobalSignOutCommand,
  InitiateAuthCommand,
  RevokeTokenCommand,
  SignUpCommand,
} from '@aws-sdk/client-cognito-identity-provider'
import { TRPCError } from '@trpc/server'
import { decodeJwt } from 'jose'
import type { OrchestratorConfig } from '../config'
import type { Revocations } from './revocations'

export interface Tokens {
  accessToken: string
  refreshToken: string | null
  expiresIn: number
}

/** The Cognito user-pool calls the API makes; the same code runs against AWS and the local emulator. */
export class CognitoAuth {
  private readonly client: CognitoIdentityProviderClient

  /** `sessions`: refreshes of a session that "sign out everywhere" ended are refused (see refresh). */
  constructor(
    private readonly config: OrchestratorConfig['cognito'],
    private readonly sessions?: Pick<Revocations, 'assertSessionActive'>,
  ) {
    this.client = new CognitoIdentityProviderClient({
      region: config.region,
      endpoint: config.endpoint,
      maxAttempts: 2,
      // The emulator ignores credentials but the SDK insists on having some.
      ...(config.endpoint ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    })
  }

  async signUp(email: string, password: string): Promise<{ confirmed: boolean }> {
    await this.call(() =>
      this.client.send(
        new SignUpCommand({ ClientId: this.config.clientId, Username: email, Password: password, UserAttributes: [{ Name: 'email', Value: email }] }),
      ),
    )
    if (!this.config.autoConfirm) return { confirmed: false }
    await this.call(() => this.client.send(new AdminConfirmSignUpCommand({ UserPoolId: this.config.userPoolId, Username: email })))
    return { confirmed: true }
  }

  async confirmSignUp(email: string, code: string): Promise<void> {
    await this.call(() => this.client.send(new ConfirmSignUpCommand({ ClientId: this.config.clientId, Username: email, ConfirmationCode: code })))
  }

  /** Sends a reset code; answers the same whether or not the account exists, so emails cannot be probed. */
  async forgotPassword(email: string): Promise<void> {
    await this.call(() => this.client.send(new ForgotPasswordCommand({ ClientId: this.config.clientId, Username: email }))).catch((error: TRPCError) => {
      if (error.code !== 'UNAUTHORIZED') throw error
    })
  }

  async resetPassword(email: string, code: string, password: string): Promise<void> {
    await this.call(() =>
      this.client.send(new ConfirmForgotPasswordCommand({ ClientId: this.config.clientId, Username: email, ConfirmationCode: code, Password: password })),
    )
  }

  async signIn(email: string, password: string): Promise<Tokens> {
    const result = await this.call(
      () =>
        this.client.send(
          new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: this.config.clientId, AuthParameters: { USERNAME: email, PASSWORD: password } }),
        ),
      // The emulator answers a wrong password with InvalidPasswordException; AWS with NotAuthorized.
      { InvalidPasswordException: ['UNAUTHORIZED', 'Wrong email or password.'] },
    )
    return this.tokens(result.AuthenticationResult, null)
  }

  async refresh(refreshToken: string): Promise<Tokens> {
    const result = await this.call(() =>
      this.client.send(
        new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: this.config.clientId, AuthParameters: { REFRESH_TOKEN: refreshToken } }),
      ),
    )
    const tokens = this.tokens(result.AuthenticationResult, refreshToken)
    if (this.sessions) {
      // Cognito revokes every refresh token at GlobalSignOut; the emulator cannot (it has no
      // GlobalSignOut), so the session's start is checked here too. The emulator's refresh tokens
      // are readable JWTs issued at sign-in; Cognito's are encrypted, and its access tokens keep
      // the sign-in time (auth_time) across refreshes.
      const claims = readClaims(tokens.accessToken)
      const startedAt = readClaims(refreshToken)?.iat ?? claims?.auth_time ?? claims?.iat
      if (typeof claims?.sub === 'string' && typeof startedAt === 'number') {
        await this.sessions.assertSessionActive(claims.sub, startedAt).catch(async (error: unknown) => {
          await this.signOut(refreshToken)
          throw error
        })
      }
    }
    return tokens
  }

  /** Revokes the refresh token, so a stolen cookie cannot mint new sessions. */
  async signOut(refreshToken: string): Promise<void> {
    // Best effort: the cookies are cleared whatever Cognito answers.
    await this.client.send(new RevokeTokenCommand({ ClientId: this.config.clientId, Token: refreshToken })).catch(() => {})
  }

  /**
   * Ends every session of the user at Cognito (GlobalSignOut: all refresh tokens revoked, and
   * the access tokens refused by Cognito's own APIs). 'unsupported' from the emulator, which lacks it.
   */
  async globalSignOut(accessToken: string): Promise<'signed-out' | 'unsupported'> {
    try {
      await this.client.send(new GlobalSignOutCommand({ AccessToken: accessToken }))
      return 'signed-out'
    } catch (error) {
      const { name, message } = error as Error
      if (this.config.endpoint && (/unsupported/i.test(name) || /unsupported feature/i.test(message))) return 'unsupported'
      // The token was revoked at Cognito already (signed out everywhere from another device).
      if (name === 'NotAuthorizedException') return 'signed-out'
      throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'The sign-in service is unavailable; try again shortly.', cause: error })
    }
  }

  /** The user's email, which access tokens do not carry. */
  async email(accessToken: string): Promise<string | null> {
    const user = await this.client.send(new GetUserCommand({ AccessToken: accessToken })).catch(() => null)
    return user?.UserAttributes?.find((a) => a.Name === 'email')?.Value ?? null
  }

  private tokens(result: { AccessToken?: string; RefreshToken?: string; ExpiresIn?: number } | undefined, previousRefresh: string | null): Tokens {
    if (!result?.AccessToken)
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign-in needs another step this app does not support yet (e.g. a new password).' })
    return { accessToken: result.AccessToken, refreshToken: result.RefreshToken ?? previousRefresh, expiresIn: result.ExpiresIn ?? 3600 }
  }

  /** Turns Cognito's exceptions into errors a person can act on. */
  private async call<T>(fn: () => Promise<T>, overrides: Record<string, [TRPCError['code'], string]> = {}): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      const name = (error as Error).name
      const message = (error as Error).message
      const known: Record<string, [TRPCError['code'], string]> = {
        NotAuthorizedException: ['UNAUTHORIZED', 'Wrong email or password.'],
        UserNotFoundException: ['UNAUTHORIZED', 'Wrong email or password.'],
        UsernameExistsException: ['CONFLICT', 'An account with this email already exists: sign in instead.'],
        InvalidPasswordException: ['BAD_REQUEST', `That password is too weak: ${message}`],
        UserNotConfirmedException: ['FORBIDDEN', 'Confirm your email address first (see the code we sent you).'],
        TooManyRequestsException: ['TOO_MANY_REQUESTS', 'Too many attempts: wait a minute and try again.'],
        InvalidParameterException: ['BAD_REQUEST', message],
        CodeMismatchException: ['BAD_REQUEST', 'That code is not right: check the email we sent you.'],
        ExpiredCodeException: ['BAD_REQUEST', 'That code has expired: ask for a new one.'],
        LimitExceededException: ['TOO_MANY_REQUESTS', 'Too many attempts: wait a few minutes and try again.'],
      }
      const mapped = overrides[name] ?? known[name]
      if (mapped) throw new TRPCError({ code: mapped[0], message: mapped[1], cause: error })
      throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'The sign-in service is unavailable; try again shortly.', cause: error })
    }
  }
}

/** A JWT's claims without checking them (tokens straight from Cognito); null when it is not a readable JWT. */
function readClaims(token: string): { sub?: unknown; iat?: number; auth_time?: number } | null {
  try {
    const claims = decodeJwt(token)
    return { sub: claims.sub, iat: claims.iat, auth_time: typeof claims.auth_time === 'number' ? claims.auth_time : undefined }
  } catch {
    return null
  }
}
