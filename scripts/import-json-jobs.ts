// Imports the job records of a store from before the job database (JSON objects under
// users/<sub>/jobs/<id>/job.json, in DATA_DIR or STORAGE_BUCKET) into the database the
// orchestrator is configured for (DATABASE_URL, or PGlite in PGLITE_DIR). Safe to run again,
// also while the orchestrator runs on a database server (PGlite's folder takes one process).
//   npm run db:import-json        (with the orchestrator's environment)
import { createStore } from '../server/app'
import { loadConfig } from '../server/config'
import { openDatabase } from '../server/db/database'
import { importJsonJobs } from '../server/db/import-json-jobs'
import { JobRepository } from '../server/jobs/repository'

const config = loadConfig()
const database = await openDatabase(config.database)
const result = await importJsonJobs(createStore(config), new JobRepository(Promise.resolve(database.db)), (done, total) =>
  process.stdout.write(`\r${done} / ${total} records read`),
)
console.log(`\n${result.found} records found: ${result.imported} imported, ${result.alreadyThere} already in the database, ${result.unreadable} unreadable.`)
await database.close()
