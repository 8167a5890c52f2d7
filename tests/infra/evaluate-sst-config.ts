// Evaluates sst.config.ts offline the way `sst deploy` does, with Pulumi's mocks in place of AWS.
//
// The SST CLI (pkg/project/run.go, pkg/js/js.go in sst/sst) bundles the config with esbuild:
// `$app`, `$cli` and `$dev` defined as constants, platform/src/shim/run.js injected (the `$`
// helpers), `aws` and `sst` imported into every user file, @pulumi/* left external and resolved
// from .sst/platform/node_modules, then runs `run(mod.run)` from platform/src/auto/run.ts inside
// a Pulumi program. We build the same bundle, run it in a plain Node process inside a Pulumi stack
// with mocks, and stand in for the CLI's local RPC server (it answers "Provider.Aws.Bootstrap",
// which in a real deploy reads SST's bootstrap bucket and ECR repository from the account).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'

export const ROOT = resolve(import.meta.dirname, '../..')
export const PLATFORM = join(ROOT, '.sst/platform')

export interface RecordedResource {
  type: string
  name: string
  custom: boolean
  inputs: Record<string, any>
}

export interface Graph {
  outputs: Record<string, any>
  resources: RecordedResource[]
  calls: string[]
  componentOutputs: Record<string, any>
}

/** A fake of the SST CLI's RPC server: bootstrap data of a made-up account, empty answers otherwise. */
async function startRpcServer(region: string) {
  const methods: string[] = []
  const server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const { method } = JSON.parse(body)
    methods.push(method)
    const result =
      method === 'Provider.Aws.Bootstrap'
        ? {
            asset: 'sst-asset-mock',
            assetEcrRegistryId: '123456789012',
            assetEcrUrl: `123456789012.dkr.ecr.${region}.amazonaws.com/sst-asset`,
            state: 'sst-state-mock',
            appsyncHttp: '',
            appsyncRealtime: '',
          }
        : {}
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result, error: null }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, methods, close: () => new Promise((r) => server.close(r)) }
}

export async function evaluateSstConfig(options: { stage: string; dev?: boolean; env?: NodeJS.ProcessEnv }): Promise<Graph & { rpcMethods: string[] }> {
  if (!existsSync(join(PLATFORM, 'src/auto/run.ts')))
    throw new Error('.sst/platform is missing: run `node --import tsx scripts/sst-install.ts` (`npm test` does it first).')
  const region = 'us-east-1'
  const work = mkdtempSync(join(tmpdir(), 'restora-sst-'))
  const outfile = join(PLATFORM, `restora-mock.${process.pid}.${Date.now()}.mjs`)
  const graphFile = join(work, 'graph.json')
  const configPath = join(ROOT, 'sst.config.ts')

  // 1. The app() part, as `sst install` evaluates it, gives $app.
  const appOut = join(PLATFORM, `restora-app.${process.pid}.${Date.now()}.mjs`)
  await build({
    stdin: {
      contents: `import mod from ${JSON.stringify(configPath)}; console.log(JSON.stringify(await mod.app({ stage: ${JSON.stringify(options.stage)} })))`,
      resolveDir: ROOT,
      loader: 'ts',
      sourcefile: 'eval.ts',
    },
    inject: [join(PLATFORM, 'src/shim/boot.js')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: appOut,
    logLevel: 'silent',
  })
  const appRun = spawnSync(process.execPath, [appOut], { encoding: 'utf8' })
  rmSync(appOut, { force: true })
  if (appRun.status !== 0) throw new Error(`app() failed: ${appRun.stderr}`)
  const app = { ...JSON.parse(appRun.stdout.trim().split('\n').pop()!), stage: options.stage }

  // 2. The program, bundled as the CLI bundles it.
  const cli = {
    command: options.dev ? 'dev' : 'deploy',
    dev: !!options.dev,
    paths: { home: work, root: ROOT, work: join(ROOT, '.sst'), platform: PLATFORM },
    state: { version: {} },
  }
  const globals = `import * as aws from "@pulumi/aws";\nimport * as sst from ${JSON.stringify(join(PLATFORM, 'src/components'))};`
  await build({
    stdin: {
      contents: `
        import { dump } from ${JSON.stringify(join(ROOT, 'tests/infra/sst-mocks.ts'))};
        import { runtime } from "@pulumi/pulumi";
        import { run } from ${JSON.stringify(join(PLATFORM, 'src/auto/run.ts'))};
        import mod from ${JSON.stringify(configPath)};
        await runtime.runInPulumiStack(async () => {
          const outputs = await run(mod.run);
          await dump(outputs, ${JSON.stringify(graphFile)});
          return outputs;
        });
      `,
      resolveDir: ROOT,
      sourcefile: 'eval.ts',
      loader: 'ts',
    },
    banner: {
      js: `import { createRequire as topLevelCreateRequire } from 'module';
const require = topLevelCreateRequire(import.meta.url);
import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"
const __filename = topLevelFileUrlToPath(import.meta.url)
const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
    },
    mainFields: ['module', 'main'],
    format: 'esm',
    platform: 'node',
    nodePaths: [join(PLATFORM, 'node_modules')],
    plugins: [
      {
        name: 'inject-globals',
        setup(b) {
          b.onLoad({ filter: /\.(js|ts|jsx|tsx)$/ }, (args) => {
            const contents = readFileSync(args.path, 'utf8')
            return { contents: args.path.includes('.sst') ? contents : `${globals}\n${contents}`, loader: 'default' }
          })
        },
      },
    ],
    external: ['@pulumi/*', 'undici', '@pulumiverse/*', '@sst-provider/*', '@aws-sdk/*', 'esbuild', 'archiver', 'glob', 'vite'],
    define: { $app: JSON.stringify(app), $cli: JSON.stringify(cli), $dev: String(!!options.dev) },
    inject: [join(PLATFORM, 'src/shim/run.js')],
    outfile,
    bundle: true,
    logLevel: 'silent',
  })

  const rpc = await startRpcServer(region)
  try {
    // Not spawnSync: the RPC server above answers from this process's event loop.
    const child = spawn(process.execPath, ['--no-deprecation', outfile], {
      cwd: ROOT,
      env: { ...process.env, ...options.env, SST_SERVER: rpc.url, MOCK_STAGE: options.stage, MOCK_AWS_REGION: region },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const [code] = await once(child, 'exit')
    if (code !== 0 || !existsSync(graphFile)) throw new Error(`sst.config.ts failed under mocks (exit ${code}):\n${output}`)
    return { ...(JSON.parse(readFileSync(graphFile, 'utf8')) as Graph), rpcMethods: rpc.methods }
  } finally {
    await rpc.close()
    rmSync(outfile, { force: true })
    rmSync(work, { recursive: true, force: true })
  }
}
