import { setFlagsFromString } from 'node:v8'

/**
 * V8 lets the old generation grow past what survived a full collection by a factor it lowers with
 * the old-space cap: 1.3 to 1.4 under the image's cap, 4 only with 2 GiB and more. Under load that
 * meant a full collection every few megabytes, and 15-25% fewer cache hits per second
 * (docs/performance.md). The cap stays, to bound a leak; this restores the large heap's factor
 * under it. Set from code because Node refuses the flag in NODE_OPTIONS; V8 reads it at each
 * collection, so it holds from the first one after the call.
 */
export function restoreLargeHeapGrowth (): void {
  setFlagsFromString('--heap-growing-percent=300')
}
