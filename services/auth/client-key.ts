import { isIPv6 } from 'node:net'

/** The eight 16-bit groups of an IPv6 address: zone dropped, a trailing dotted quad read as two groups, `::` expanded. */
function groupsOf (address: string): number[] {
  const hexOnly = address.replace(/%.*$/, '').replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_quad, a: string, b: string, c: string, d: string) =>
    `${(Number(a) * 256 + Number(b)).toString(16)}:${(Number(c) * 256 + Number(d)).toString(16)}`)
  const [head, tail] = hexOnly.split('::')
  const groupsIn = (part: string | undefined) => part ? part.split(':').map(group => parseInt(group, 16)) : []
  const before = groupsIn(head)
  const after = groupsIn(tail)
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after]
}

/**
 * Whose attempts a request's address counts as: an IPv4 address (also when written IPv4-mapped,
 * as a dual-stack socket reports it) is itself; an IPv6 address stands for its /64, the block one
 * host or one subscriber is usually given, so rotating addresses inside it gains nothing.
 */
export function clientKeyOf (address: string): string {
  if (!isIPv6(address)) return address
  const groups = groupsOf(address)
  const hex = groups.map(group => group.toString(16))
  if (hex.slice(0, 6).join(':') === '0:0:0:0:0:ffff') return groups.slice(6).flatMap(group => [group >> 8, group & 0xff]).join('.')
  return `${hex.slice(0, 4).join(':')}::/64`
}
