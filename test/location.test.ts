import t from 'tap'
import { cityKey, displayCity, locationId } from '../services/location.ts'

t.test('every spelling of a city folds to one key', async t => {
  const same: string[][] = [
    ['Managua', 'managua', ' MANAGUA ', 'Mana\u0301gua'],
    ['León', 'Leon', 'LEÓN', 'Le\u0301on'],
    ['Łódź', 'Lodz', 'ŁÓDŹ'],
    ['Tórshavn', 'Torshavn'],
    ['Nuuk', ' nuuk'],
    ['Straße', 'STRASSE', 'strasse'],
    ['Bærum', 'baerum'],
    ['San  José', 'san jose']
  ]
  for (const spellings of same) {
    t.same(new Set(spellings.map(cityKey)).size, 1, spellings.join(' = '))
  }
  t.not(cityKey('San-Juan'), cityKey('San Juan'), 'punctuation still tells cities apart')
})

t.test('the stored spelling keeps case and accents, trimmed and single-spaced', async t => {
  t.equal(displayCity('  San   José '), 'San José')
  t.same(locationId('ni', ' León '), { country: 'NI', cityKey: 'leon' })
})
