import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Prometheus metrics of the orchestrator, served at /api/metrics (CloudWatch's agent reads the same format). */
export function createMetrics(queueDepth: () => Promise<number>) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'restora_' })
  return {
    registry,
    jobsCreated: new Counter({ name: 'restora_jobs_created_total', help: 'Jobs accepted by jobs.create', registers: [registry] }),
    jobsRejected: new Counter({
      name: 'restora_jobs_rejected_total',
      help: 'Uploads refused, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    jobsFinished: new Counter({
      name: 'restora_jobs_finished_total',
      help: 'Jobs that ended, by final state',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    stepDuration: new Histogram({
      name: 'restora_step_duration_seconds',
      help: 'Time of one pipeline step at a service, by model and outcome',
      labelNames: ['model', 'outcome'] as const,
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'restora_queue_depth',
      help: 'Jobs waiting to be claimed',
      registers: [registry],
      async collect() {
        this.set(await queueDepth())
      },
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
