/// <reference path="../.sst/platform/config.d.ts" />

/**
 * Alarms on the jobs queues and the web tier's 5xx, all notifying one SNS topic (email when ALERT_EMAIL is set).
 * Under `sst dev` the web app runs locally, so there is no load balancer to watch.
 */
export function alarms(jobs: { queue: sst.aws.Queue; deadLetters: sst.aws.Queue }, web: sst.aws.Service) {
  const alerts = new aws.sns.Topic('Alerts', {})
  if (process.env.ALERT_EMAIL) new aws.sns.TopicSubscription('AlertsEmail', { topic: alerts.arn, protocol: 'email', endpoint: process.env.ALERT_EMAIL })
  const alarm = (name: string, args: Omit<aws.cloudwatch.MetricAlarmArgs, 'alarmActions' | 'okActions'>) =>
    new aws.cloudwatch.MetricAlarm(name, { treatMissingData: 'notBreaching', ...args, alarmActions: [alerts.arn], okActions: [alerts.arn] })
  const maximum = { statistic: 'Maximum', period: 300, comparisonOperator: 'GreaterThanThreshold' } as const

  alarm('JobsQueueDepth', {
    alarmDescription: 'More than 50 jobs waiting for 15 minutes: the services cannot keep up.',
    namespace: 'AWS/SQS',
    metricName: 'ApproximateNumberOfMessagesVisible',
    dimensions: { QueueName: jobs.queue.nodes.queue.name },
    ...maximum,
    evaluationPeriods: 3,
    threshold: 50,
  })
  alarm('JobsOldestMessage', {
    alarmDescription: 'A job has waited more than 15 minutes to start.',
    namespace: 'AWS/SQS',
    metricName: 'ApproximateAgeOfOldestMessage',
    dimensions: { QueueName: jobs.queue.nodes.queue.name },
    ...maximum,
    evaluationPeriods: 1,
    threshold: 900,
  })
  alarm('JobsDeadLetters', {
    alarmDescription: 'Jobs failed every attempt and landed in the dead-letter queue.',
    namespace: 'AWS/SQS',
    metricName: 'ApproximateNumberOfMessagesVisible',
    dimensions: { QueueName: jobs.deadLetters.nodes.queue.name },
    ...maximum,
    evaluationPeriods: 1,
    threshold: 0,
  })
  if ($dev) return

  for (const [name, metricName, what] of [
    ['WebServer5xx', 'HTTPCode_Target_5XX_Count', 'The web server answered'],
    ['WebLoadBalancer5xx', 'HTTPCode_ELB_5XX_Count', 'The load balancer answered (no healthy web task?)'],
  ] as const)
    alarm(name, {
      alarmDescription: `${what} more than 10 5xx responses in 5 minutes.`,
      namespace: 'AWS/ApplicationELB',
      metricName,
      dimensions: { LoadBalancer: web.nodes.loadBalancer.arnSuffix },
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 10,
      comparisonOperator: 'GreaterThanThreshold',
    })
}
