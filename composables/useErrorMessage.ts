// Auto-imported into pages; the CLI formats errors with the same functions.
export { errorMessage, isUnauthorized } from '../lib/error-message'
