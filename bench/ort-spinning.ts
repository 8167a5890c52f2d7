/**
 * ORT's intra-op spinning (ORT_INTRA_OP_SPINNING, inference/runtime/sessions.ts) with the process
 * alone on the cores and with a second one beside it, as npm test runs services and models side by
 * side: each process loads maxim-denoising (256x256) through the service's runtime and runs one
 * tile RUNS times; both settings measured in the same run.
 *
 *   npx tsx bench/ort-spinning.ts            writes bench/results/ort-spinning.md
 */
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg } from 'node:os'
import * as ort from 'onnxruntime-node'
import { maximDenoising } from '../inference/models/maxim'
import { loadModel } from '../inference/runtime/model-files'
import { intraOpThreads } from '../inference/runtime/sessions'

const RUNS = 4

if (process.argv[2] === '--child') {
  await loadModel(maximDenoising)
  const context = { signal: new AbortController().signal, onProgress: () => {} }
  const image = { width: 256, height: 256, channels: 3, data: new Uint8Array(3 * 256 * 256).fill(128) }
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < RUNS; i++) await maximDenoising.process(image, {}, context)
  const cpu = process.cpuUsage(cpu0)
  console.log(JSON.stringify({ wall: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 }))
  process.exit(0)
}

/** Starts `count` child processes at once with spinning on or off; answers each one's wall and CPU seconds. */
function processes(count: number, spinning: '0' | '1') {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<{ wall: number; cpu: number }>((resolve, reject) => {
          const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, '--child'], {
            env: { ...process.env, ORT_INTRA_OP_SPINNING: spinning },
            stdio: ['ignore', 'pipe', 'inherit'],
          })
          let out = ''
          child.stdout.on('data', (chunk) => (out += chunk))
          child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`child exited ${code}`))))
        }),
    ),
  )
}

const load = loadavg()[0]!
const rows: string[] = []
for (const count of [1, 2])
  for (const spinning of ['1', '0'] as const) {
    const runs = await processes(count, spinning)
    const wall = Math.max(...runs.map((r) => r.wall))
    const cpu = runs.reduce((sum, r) => sum + r.cpu, 0)
    const line = `| ${count === 1 ? 'alone' : 'two at once'} | ${spinning === '1' ? 'on (default)' : 'off'} | ${wall.toFixed(1)} s | ${((count * RUNS) / wall).toFixed(2)} | ${cpu.toFixed(1)} s |`
    console.log(line)
    rows.push(line)
  }
const report = `# ORT intra-op spinning (bench/ort-spinning.ts)

${new Date().toISOString()}, ${cpus()[0]?.model}, ${availableParallelism()} cores, onnxruntime-node ${ort.env.versions.node ?? ''}, load average at start ${load.toFixed(1)}.
Each process: maxim-denoising, one 256x256 tile through the service's runtime (loadSession, ${intraOpThreads()} intra-op threads), ${RUNS} runs.

| processes | spinning | wall (slowest) | tiles/s in total | CPU, all processes |
|---|---|---|---|---|
${rows.join('\n')}

Alone, spinning keeps both threads ready and is faster; with a second process on the same cores the
spinning threads take CPU the other one needed. Services keep the default (an ECS task has its cores
to itself); \`npm test\`, which runs services, browsers and models side by side, sets
ORT_INTRA_OP_SPINNING=0.
`
await writeFile('bench/results/ort-spinning.md', report)
