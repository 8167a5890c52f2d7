import type { ServiceErrorCode } from '../../contracts/service'

/** An error whose message is meant for the person who sent the image. */
export class InferenceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
  ) {
    super(message)
  }
}
