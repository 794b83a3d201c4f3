import t from 'tap'
import { createDecodedValues } from '../services/cache/decoded-values.ts'

t.test('the same bytes decode once, to the same object; past the bound the oldest is decoded again', async t => {
  let decodes = 0
  const decode = createDecodedValues<{ n: number } | undefined>(2, cached => { decodes++; return JSON.parse(cached) ?? undefined })
  const first = decode('{"n":1}')
  t.equal(decode('{"n":1}'), first, 'the same object')
  t.equal(decodes, 1)
  t.equal(decode('null'), undefined, '"not found" is kept too')
  t.equal(decode('null'), undefined)
  t.equal(decodes, 2)
  t.same(decode('{"n":3}'), { n: 3 })
  t.equal(decodes, 3)
  t.not(decode('{"n":1}'), first, 'the oldest was forgotten: decoded again')
  t.same(decode('{"n":1}'), { n: 1 })
  t.equal(decodes, 4)
})
