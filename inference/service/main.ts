// The one entry of every inference service: `tsx inference/service/main.ts <task>` (the local stack,
// `sst dev`), or SERVICE_TASK in a container image. The task picks its models from the registry.
import { isModelTask, MODEL_TASKS, TASKS } from '../../contracts/tasks'
import { TASK_MODELS } from '../models/registry'
import { startService } from './start'

const task = process.argv[2] ?? process.env.SERVICE_TASK ?? ''
if (!isModelTask(task)) {
  console.error(`usage: tsx inference/service/main.ts <task>, with a task among ${MODEL_TASKS.join(', ')} (got '${task}')`)
  process.exit(2)
}
await startService(task, TASK_MODELS[task], TASKS[task].port)
