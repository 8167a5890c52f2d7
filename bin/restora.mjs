#!/usr/bin/env node
// Entry of the `restora` command (package.json "bin"): runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api'

register()
const { run } = await import('../cli/restora.ts')
run(process.argv.slice(2))
