import { createError, defineEventHandler, getHeader, setResponseHeader } from 'h3'
import { useApp } from '../app'

/** Prometheus text format. With METRICS_TOKEN set, scrapers must send it as a bearer token. */
export default defineEventHandler(async (event) => {
  const token = process.env.METRICS_TOKEN
  if (token && getHeader(event, 'authorization') !== `Bearer ${token}`) throw createError({ statusCode: 401, statusMessage: 'Metrics need the scrape token.' })
  const { registry } = useApp().metrics
  setResponseHeader(event, 'content-type', registry.contentType)
  return registry.metrics()
})
