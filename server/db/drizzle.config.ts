import { defineConfig } from 'drizzle-kit'

// `npm run db:generate` writes a new SQL migration from schema.ts; processes apply them at start.
export default defineConfig({ dialect: 'postgresql', schema: './server/db/schema.ts', out: './server/db/migrations' })
