import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { INFERENCE_SERVICES, type InferenceServiceName } from '../../infra/services'
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  ListUserPoolClientsCommand,
  ListUserPoolsCommand,
} from '@aws-sdk/client-cognito-identity-provider'

/**
 * Starts the pieces of the system as separate processes on loopback, exactly as
 * `npm run dev` runs them; the integration and end-to-end tests use the same functions.
 */

export const DEMO_USER = { email: 'demo@restora.local', password: 'demo-password-1' }
/** The emulator sends no email: every confirmation and reset code is this one locally. */
export const LOCAL_CONFIRMATION_CODE = '123456'
/** The orchestrator's own identity (resumes jobs after a restart); its password is new every start. */
const SERVICE_ACCOUNT_EMAIL = 'orchestrator@restora.local'

export interface Cognito {
  endpoint: string
  userPoolId: string
  clientId: string
  issuer: string
  serviceAccount: { email: string; password: string }
}

const children = new Set<ChildProcess>()

export function startProcess(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, options: { quiet?: boolean } = {}): ChildProcess {
  const child = spawn(command, args, {
    env: { ...process.env, ...env, RESTORA_PARENT_PID: String(process.pid) },
    stdio: ['ignore', options.quiet ? 'ignore' : 'pipe', options.quiet ? 'ignore' : 'pipe'],
  })
  children.add(child)
  const prefix = `[${name}] `
  const forward = (stream: NodeJS.ReadableStream | null, out: NodeJS.WritableStream) => {
    let buffered = ''
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) out.write(prefix + line + '\n')
    })
  }
  forward(child.stdout, process.stdout)
  forward(child.stderr, process.stderr)
  child.on('exit', () => children.delete(child))
  return child
}

export async function stopAll(): Promise<void> {
  await Promise.all(
    [...children].map(async (child) => {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await once(child, 'exit')
      clearTimeout(timer)
    }),
  )
}

/** Polls `url` until it answers 2xx; fails early if `child` exits first. */
export async function waitFor(url: string, child: ChildProcess | null, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode} before it was ready`)
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      if (response.ok) return
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} was not ready after ${timeoutMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** A TCP port that is free right now on loopback (so parallel test runs do not collide). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

const tsx = (script: string) => [process.execPath, ['--import', 'tsx', script]] as const

export async function startCognito(port: number, dataDir: string): Promise<Cognito> {
  const [node, args] = tsx('scripts/cognito-local.ts')
  const child = startProcess('cognito', node, [...args, String(port), dataDir], {
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
    COGNITO_LOCAL_LOG: process.env.COGNITO_LOCAL_LOG ?? 'error',
    CODE: LOCAL_CONFIRMATION_CODE,
  })
  const endpoint = `http://127.0.0.1:${port}`
  await waitFor(`${endpoint}/health`, child, 30_000)
  return { endpoint, ...(await bootstrapUserPool(endpoint)) }
}

/** Finds or creates the local user pool, its web client and the demo user (idempotent across restarts). */
export async function bootstrapUserPool(endpoint: string) {
  const client = new CognitoIdentityProviderClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  })
  const pools = await client.send(new ListUserPoolsCommand({ MaxResults: 60 }))
  const pool =
    pools.UserPools?.find((p) => p.Name === 'restora-local') ??
    (await client.send(new CreateUserPoolCommand({ PoolName: 'restora-local', UsernameAttributes: ['email'], AutoVerifiedAttributes: ['email'] }))).UserPool!
  const userPoolId = pool.Id!
  const clients = await client.send(new ListUserPoolClientsCommand({ UserPoolId: userPoolId, MaxResults: 60 }))
  const appClient =
    clients.UserPoolClients?.find((c) => c.ClientName === 'web') ??
    (
      await client.send(
        new CreateUserPoolClientCommand({
          UserPoolId: userPoolId,
          ClientName: 'web',
          GenerateSecret: false,
          ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
        }),
      )
    ).UserPoolClient!
  const ensureUser = async (email: string, password: string) => {
    const exists = await client.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: email })).then(
      () => true,
      () => false,
    )
    if (!exists)
      await client.send(
        new AdminCreateUserCommand({
          UserPoolId: userPoolId,
          Username: email,
          MessageAction: 'SUPPRESS',
          UserAttributes: [
            { Name: 'email', Value: email },
            { Name: 'email_verified', Value: 'true' },
          ],
        }),
      )
    await client.send(new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: email, Password: password, Permanent: true }))
  }
  await ensureUser(DEMO_USER.email, DEMO_USER.password)
  const serviceAccount = { email: SERVICE_ACCOUNT_EMAIL, password: `svc-${randomBytes(18).toString('base64url')}` }
  await ensureUser(serviceAccount.email, serviceAccount.password)
  client.destroy()
  return { userPoolId, clientId: appClient.ClientId!, issuer: `${endpoint}/${userPoolId}`, serviceAccount }
}

/** The environment every process of the stack reads its Cognito settings from. */
export function cognitoEnv(cognito: Cognito): NodeJS.ProcessEnv {
  return {
    COGNITO_ENDPOINT: cognito.endpoint,
    COGNITO_USER_POOL_ID: cognito.userPoolId,
    COGNITO_CLIENT_ID: cognito.clientId,
    COGNITO_ISSUER: cognito.issuer,
    COGNITO_REGION: 'us-east-1',
    AUTH_AUTO_CONFIRM: '1',
    SERVICE_ACCOUNT_EMAIL: cognito.serviceAccount.email,
    SERVICE_ACCOUNT_PASSWORD: cognito.serviceAccount.password,
  }
}

/**
 * The inference services of the local stack: the cloud's table (infra/services.ts), each row its
 * own process, found by the orchestrator through its `urlsEnv` variable.
 */
export const SERVICES = INFERENCE_SERVICES
export type ServiceName = InferenceServiceName

export async function startInferenceService(name: ServiceName, port: number, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const [node, args] = tsx(SERVICES[name].entry)
  const child = startProcess(name, node, [...args, name], { ...env, PORT: String(port), HOST: '127.0.0.1' })
  await waitFor(`http://127.0.0.1:${port}/readyz`, child, SERVICES[name].readyTimeoutMs)
  return child
}
