// Resolves every model's files at install: converts what ships in another format to ONNX (cached in
// MODELS_DIR, default .models/) and checks that shipped files are there. User files are optional.
import { allAdapters } from '../inference/models/registry'
import { modelsDir, resolveModelFiles } from '../inference/runtime/model-files'

const started = Date.now()
for (const adapter of allAdapters) {
  const resolved = await resolveModelFiles(adapter, modelsDir(), (line) => console.log(line))
  console.log(`${resolved.status === 'ready' ? 'ready' : `not offered (${resolved.reason})`}  ${adapter.info.id}`)
}
console.log(`models ready in ${modelsDir()} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
