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

t.test('plain ASCII names take a shortcut that folds them exactly as the full rules do', async t => {
  t.equal(cityKey('  San   Juan  del SUR '), 'san juan del sur')
  t.equal(cityKey("St. John's"), "st. john's")
  t.equal(cityKey('Port-au-Prince'), 'port-au-prince')
  t.equal(cityKey('San\tJuan'), 'san juan', 'a tab is not printable ASCII: the full rules fold it into a space')
  t.equal(cityKey('San Juan\u00a0'), 'san juan', 'nor is a no-break space')
  t.equal(cityKey('Sa\u0301n Juan'), cityKey('San Juan'))
})
