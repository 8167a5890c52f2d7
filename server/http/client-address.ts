/**
 * The caller's address, from the one source that cannot be forged. With no proxy in front
 * (`trustedHops` 0, locally) it is the socket's peer. Behind proxies each appends the address it
 * saw to X-Forwarded-For, so the entry `trustedHops` from the right was written by the outermost
 * proxy we trust (CloudFront, in AWS: CloudFront then the load balancer, 2 hops); anything to its
 * left came from the client and is never read.
 */
export function clientAddress(forwardedFor: string | null | undefined, socketAddress: string | undefined, trustedHops: number): string {
  const socket = socketAddress || 'unknown'
  if (trustedHops === 0) return socket
  const hops = (forwardedFor ?? '')
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean)
  // Fewer entries than proxies: the request did not come through all of them; the peer is all we know.
  return hops.length >= trustedHops ? hops[hops.length - trustedHops]! : socket
}
