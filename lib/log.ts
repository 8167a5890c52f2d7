import pino from 'pino'

/** JSON logs on stdout: what CloudWatch and any local tail read. */
export function createLogger(name: string) {
  return pino({ name, level: process.env.LOG_LEVEL ?? 'info', base: { service: name } })
}
