import { hash } from 'node:crypto'

/**
 * A weak entity tag computed from an answer's data alone (never from where
 * it came from), so a hit and a miss of the same data carry the same tag
 * and any change to the data changes it. Weak: the same data may be sent
 * in other bytes (key order, a `redis_cache` that differs).
 */
export function weakEtag (data: string): string {
  return `W/"${hash('sha1', data, 'base64url')}"`
}
