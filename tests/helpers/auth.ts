import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider'
import { SignJWT, generateKeyPair } from 'jose'
import { inject } from 'vitest'
import { DEMO_USER } from '../../scripts/lib/local-stack'

export const stackEnv = () => inject('stackEnv')

/** Real tokens from the Cognito emulator, obtained the way a client would. */
export async function signInDirect(email = DEMO_USER.email, password = DEMO_USER.password) {
  const env = stackEnv()
  const client = new CognitoIdentityProviderClient({
    endpoint: env.COGNITO_ENDPOINT,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  })
  const result = await client.send(
    new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: env.COGNITO_CLIENT_ID, AuthParameters: { USERNAME: email, PASSWORD: password } }),
  )
  client.destroy()
  return { accessToken: result.AuthenticationResult!.AccessToken!, idToken: result.AuthenticationResult!.IdToken! }
}

/** A token with every right claim, signed by a key that is not the pool's. */
export async function forgedAccessToken(claims: Record<string, unknown> = {}) {
  const env = stackEnv()
  const { privateKey } = await generateKeyPair('RS256')
  return new SignJWT({ token_use: 'access', client_id: env.COGNITO_CLIENT_ID, username: 'mallory', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'CognitoLocal' })
    .setIssuer(env.COGNITO_ISSUER!)
    .setSubject('mallory')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey)
}
