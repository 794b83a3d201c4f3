import t from 'tap'
import { clientKeyOf } from '../services/auth/client-key.ts'

t.test('an IPv4 address is its own client, also written IPv4-mapped as a dual-stack socket reports it', async t => {
  t.equal(clientKeyOf('203.0.113.7'), '203.0.113.7')
  t.equal(clientKeyOf('::ffff:203.0.113.7'), '203.0.113.7')
  t.equal(clientKeyOf('::FFFF:cb00:7107'), '203.0.113.7', 'the mapped form in hex')
})

t.test('an IPv6 address counts as its /64, however it is written', async t => {
  const key = '2001:db8:a:b::/64'
  for (const address of [
    '2001:db8:a:b::1',
    '2001:0DB8:000a:000b:ffff:ffff:ffff:ffff',
    '2001:db8:a:b:1:2:3:4',
    '2001:db8:a:b:1:2:198.51.100.1',
    '2001:db8:a:b::198.51.100.1',
    '2001:db8:a:b::1%eth0'
  ]) t.equal(clientKeyOf(address), key, address)
  t.equal(clientKeyOf('2001:db8:a:c::1'), '2001:db8:a:c::/64', 'the next /64 is another client')
  t.equal(clientKeyOf('::1'), '0:0:0:0::/64')
  t.equal(clientKeyOf('::'), '0:0:0:0::/64')
  t.equal(clientKeyOf('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone is not part of the address')
})
