/// <reference path="../.sst/platform/config.d.ts" />
import type { Access } from './containers'

/** Cognito user pool and the web app's public client (no secret; USER_PASSWORD_AUTH from the server). */
export function auth(): Access & { userPool: sst.aws.CognitoUserPool; client: ReturnType<sst.aws.CognitoUserPool['addClient']> } {
  const region = aws.getRegionOutput().name
  const userPool = new sst.aws.CognitoUserPool('UserPool', {
    usernames: ['email'],
    transform: {
      userPool: (args) => {
        args.passwordPolicy = {
          minimumLength: 12,
          requireLowercase: false,
          requireUppercase: false,
          requireNumbers: false,
          requireSymbols: false,
          temporaryPasswordValidityDays: 3,
        }
        args.autoVerifiedAttributes = ['email']
        args.accountRecoverySetting = { recoveryMechanisms: [{ name: 'verified_email', priority: 1 }] }
        args.verificationMessageTemplate = { defaultEmailOption: 'CONFIRM_WITH_CODE' }
        args.deletionProtection = $app.stage === 'prod' ? 'ACTIVE' : 'INACTIVE'
      },
    },
  })
  const client = userPool.addClient('WebClient', {
    transform: {
      client: (args) => {
        // Server-side password sign-in, refresh and revocation only; no hosted UI / OAuth flows.
        args.explicitAuthFlows = ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']
        args.allowedOauthFlowsUserPoolClient = false
        args.allowedOauthFlows = undefined
        args.allowedOauthScopes = undefined
        args.callbackUrls = undefined
        args.supportedIdentityProviders = ['COGNITO']
        args.generateSecret = false
        args.preventUserExistenceErrors = 'ENABLED'
        args.enableTokenRevocation = true
        args.accessTokenValidity = 60
        args.idTokenValidity = 60
        args.refreshTokenValidity = 30
        args.tokenValidityUnits = { accessToken: 'minutes', idToken: 'minutes', refreshToken: 'days' }
      },
    },
  })
  const issuer = $interpolate`https://cognito-idp.${region}.amazonaws.com/${userPool.id}`
  return {
    userPool,
    client,
    environment: { COGNITO_REGION: region, COGNITO_USER_POOL_ID: userPool.id, COGNITO_CLIENT_ID: client.id, COGNITO_ISSUER: issuer },
    // The public client's calls (sign-up, sign-in, refresh, revoke) need no IAM; AdminConfirmSignUp runs only with
    // AUTH_AUTO_CONFIRM=1, which the cloud never sets.
    permissions: [],
  }
}
