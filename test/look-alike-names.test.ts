import t from 'tap'
import { CityName, CountryCode } from '../schemas/location.ts'
import { KNOWN_SCRIPTS, knownToEngine, lookAlikeProblem } from '../domain/look-alike-names.ts'
import { AUTH, build } from './helper.ts'

const query = (city: string) => `/active?country=NI&city=${encodeURIComponent(city)}`
const post = (country: string, city: string) => ({ method: 'POST' as const, url: '/active', headers: AUTH, payload: { country, city, active: true } })
const mustBe = `must be ${CityName.description}`

// Each looks like "Managua" (or like nothing); Managua is in the demo data, active.
const refused: Array<[string, string, string]> = [
  ['a Cyrillic а', 'M\u0430nagua', 'it mixes letters of different scripts (Latin and Cyrillic), which can look like another name'],
  ['a Greek α', 'Man\u03b1gua', 'it mixes letters of different scripts (Latin and Greek), which can look like another name'],
  ['an emoji variation selector', 'Managua\ufe0f', 'it contains an invisible character (U+FE0F)'],
  ['a variation selector inside', 'Mana\ufe00gua', 'it contains an invisible character (U+FE00)'],
  ['a Hangul filler alone', '\u3164', 'it contains an invisible character (U+1160)'],
  ['a Hangul filler inside', 'Mana\u3164gua', 'it contains an invisible character (U+1160)'],
  ['a Hangul choseong filler alone', '\u115f', 'it contains an invisible character (U+115F)'],
  ['a Hangul jungseong filler inside', 'Managua\u1160', 'it contains an invisible character (U+1160)'],
  ['a halfwidth Hangul filler alone', '\uffa0', 'it contains an invisible character (U+1160)'],
  ['a combining grapheme joiner', 'Mana\u034fgua', 'it contains an invisible character (U+034F)'],
  ['ligatures that fold past 100 characters', '\ufb03'.repeat(40), 'it is longer than 100 characters once its compatibility characters are folded']
]

t.test('a look-alike of a city is refused with 400 on every method, saying why; none becomes a city', async t => {
  const app = await build(t)
  for (const [name, city, problem] of refused) {
    const message = (where: string) => ({ statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: `${where}/city ${mustBe}: ${problem}` })
    const created = await app.inject(post('NI', city))
    t.same([created.statusCode, created.json()], [400, message('body')], `POST with ${name}`)
    const updated = await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city, active: false } })
    t.same([updated.statusCode, updated.json()], [400, message('body')], `PUT with ${name}`)
    const read = await app.inject({ method: 'GET', url: query(city) })
    t.same([read.statusCode, read.json()], [400, message('querystring')], `GET with ${name}`)
    const removed = await app.inject({ method: 'DELETE', url: query(city), headers: AUTH })
    t.same([removed.statusCode, removed.json()], [400, message('querystring')], `DELETE with ${name}`)
  }
  t.same((await app.inject({ method: 'GET', url: query('Managua') })).json().active, true, 'Managua itself is untouched')
})

t.test('fullwidth and mathematical letters are the plain ones: the same city on every method', async t => {
  const app = await build(t)
  for (const city of ['Ｍａｎａｇｕａ', '𝐌𝐚𝐧𝐚𝐠𝐮𝐚', '𝑴𝒂𝒏𝒂𝒈𝒖𝒂', 'ＭＡＮＡＧＵＡ']) {
    const created = await app.inject(post('NI', city))
    t.same([created.statusCode, created.json().message], [409, `NI/${city.normalize('NFKC')} already exists`], `POST ${city}: Managua exists`)
    const read = await app.inject({ method: 'GET', url: query(city) })
    t.same([read.statusCode, read.json().city], [200, 'Managua'], `GET ${city} finds Managua`)
  }
  const updated = await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Ｍａｎａｇｕａ', active: false } })
  t.same(updated.json(), { result: 'Ok', update: { country: 'NI', city: 'Managua', active: false } }, 'PUT in fullwidth updates Managua')
  t.equal((await app.inject({ method: 'DELETE', url: query('𝐌𝐚𝐧𝐚𝐠𝐮𝐚'), headers: AUTH })).statusCode, 204, 'DELETE in bold removes it')
  t.equal((await app.inject({ method: 'GET', url: query('Managua') })).statusCode, 404, 'Managua is gone')

  const stored = await app.inject(post('BZ', 'Ｓａｎ　Ｉｇｎａｃｉｏ'))
  t.same([stored.statusCode, stored.json()], [201, { result: 'Ok', Insert: { country: 'BZ', city: 'San Ignacio', active: true } }],
    'a new city in fullwidth is stored as plain letters, the ideographic space a space')
})

t.test('names wholly in one script, and the scripts East Asian writing mixes, are cities', async t => {
  const app = await build(t)
  const cities: Array<[string, string]> = [
    ['RU', 'Ростов-на-Дону'], ['GR', 'Άγιος Νικόλαος'], ['SA', 'المدينة المنورة'], ['IL', 'תל אביב-יפו'],
    ['CN', '北京'], ['TW', '臺北'], ['JP', 'さいたま市'], ['JP', 'ヶ丘'], ['JP', 'ニセコ町'], ['KR', '서울特別市'],
    ['JP', 'Tōkyō 23区'], ['IN', 'नई दिल्ली'], ['EG', '٦ أكتوبر'], ['FR', "L'Haÿ-les-Roses"], ['US', 'St. John’s 2']
  ]
  for (const [country, city] of cities) {
    const created = await app.inject(post(country, city))
    t.equal(created.statusCode, 201, `${city} ${created.body}`)
  }
})

t.test('every letter of the running Unicode version belongs to a script the check knows, or to none in particular', async t => {
  const known = new RegExp(`[${KNOWN_SCRIPTS.map(script => `\\p{scx=${script}}`).join('')}\\p{scx=Zyyy}\\p{scx=Zinh}]`, 'u')
  const letter = /[\p{L}\p{M}\p{N}]/u
  const unknown: string[] = []
  for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
    const character = String.fromCodePoint(codePoint)
    if (letter.test(character) && !known.test(character)) unknown.push(codePoint.toString(16))
  }
  t.same(unknown, [], 'no letter, mark or digit outside the known scripts (a name in a new script would be refused)')
  t.ok(knownToEngine('Latn'))
  t.notOk(knownToEngine('Qqqq'), 'a script the engine does not know is left out, not a crash at start-up')
  t.equal(lookAlikeProblem('Managua'), undefined)
  t.equal(lookAlikeProblem('Moсква'), 'it mixes letters of different scripts (Latin and Cyrillic), which can look like another name')
})

t.test('other formats and patterns keep their plain message', async t => {
  const app = await build(t)
  const country = await app.inject({ method: 'GET', url: '/active?country=XX&city=Managua' })
  t.same([country.statusCode, country.json().message], [400, `querystring/country must be ${CountryCode.description}`])
  const active = await app.inject({ method: 'PUT', url: '/active', headers: AUTH, payload: { country: 'NI', city: 'Managua', active: 'yes' } })
  t.equal(active.statusCode, 400)
  t.match(active.json().message, 'body/active must be "True" or "False", in any case')
})
