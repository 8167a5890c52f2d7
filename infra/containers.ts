/// <reference path="../.sst/platform/config.d.ts" />
// What every Fargate task here shares, and the one way a task is handed a resource.

export type Environment = Record<string, $util.Input<string>>

/**
 * What a task needs to reach a resource: its settings as environment variables (server/config.ts and
 * lib/limits.ts read nothing else, never SST's `Resource`) and the IAM statements for its task role.
 * No `link`: it only repeated the same values as SST_RESOURCE_* variables, and these links carried no permissions.
 */
export interface Access {
  environment: Environment
  permissions: sst.aws.FunctionPermissionArgs[]
}

/** Combines what several resources hand a task. */
export const combine = (...access: (Access | undefined)[]): Access => ({
  environment: Object.assign({}, ...access.map((a) => a?.environment)),
  permissions: access.flatMap((a) => a?.permissions ?? []),
})

/** Upload and image-size limits (lib/limits.ts); the web app and the services enforce the same ones. */
export const LIMITS = { MAX_INPUT_BYTES: String(25 * 1024 * 1024), MAX_INPUT_PIXELS: '16000000', MAX_OUTPUT_PIXELS: '64000000' }

/** Architecture, log retention and execution role of every task. */
export function taskDefaults() {
  return {
    architecture: 'x86_64' as const,
    logging: { retention: $app.stage === 'prod' ? ('1 month' as const) : ('1 week' as const) },
    /** SST's execution role may read every SSM parameter and secret; these tasks read none. */
    withoutSecretReads: (args: aws.iam.RoleArgs) => {
      args.inlinePolicies = []
      return undefined
    },
  }
}
