import t from 'tap'
import { CityName } from '../schemas/location.ts'
import { AUTH, build } from './helper.ts'

const read = (country: string, city: string) => ({ method: 'GET' as const, url: `/active?country=${country}&city=${encodeURIComponent(city)}` })
const remove = (country: string, city: string) => ({ method: 'DELETE' as const, url: `/active?country=${country}&city=${encodeURIComponent(city)}`, headers: AUTH })
const write = (method: 'PUT' | 'POST', payload: unknown) => ({ method, url: '/active', headers: AUTH, payload: payload as object })

interface Script {
  script: string
  country: string
  /** As registered, and as every answer spells it. */
  city: string
  /** Other spellings of the same city: case, spacing, accents or Unicode normalization. */
  spellings: string[]
}

const scripts: Script[] = [
  { script: 'Cyrillic', country: 'RU', city: 'Москва', spellings: ['МОСКВА', ' москва ', 'МоСкВа'] },
  { script: 'Cyrillic with a diaeresis', country: 'RU', city: 'Королёв', spellings: ['Королев', 'КОРОЛЁВ', 'Короле\u0308в'] },
  { script: 'CJK', country: 'CN', city: '北京', spellings: ['  北京', '北京 '] },
  { script: 'Arabic', country: 'EG', city: 'القاهرة', spellings: [' القاهرة ', 'القاهِرة'] },
  { script: 'Greek', country: 'GR', city: 'Αθήνα', spellings: ['Αθηνα', 'ΑΘΗΝΑ', 'αθήνα', 'ΑΘΉΝΑ'] },
  { script: 'Hangul', country: 'KR', city: '서울', spellings: ['서울'.normalize('NFD'), ' 서울 '] },
  { script: 'Latin with accents', country: 'CH', city: 'Zürich', spellings: ['Zurich', 'ZÜRICH', 'Zu\u0308rich', ' zurich'] },
  { script: 'Latin with a letter NFD keeps', country: 'PL', city: 'Łódź', spellings: ['Lodz', 'ŁÓDŹ'] },
  { script: 'Devanagari', country: 'IN', city: 'नई दिल्ली', spellings: ['नई  दिल्ली', ' नई दिल्ली'] },
  { script: 'Thai', country: 'TH', city: 'กรุงเทพมหานคร', spellings: [' กรุงเทพมหานคร'] },
  { script: 'Hebrew', country: 'IL', city: 'ירושלים', spellings: ['ירושלים '] },
  { script: 'Arabic with Arabic-Indic digits', country: 'EG', city: '٦ أكتوبر', spellings: [' ٦  أكتوبر'] },
  { script: 'Latin with punctuation', country: 'FR', city: "L'Haÿ-les-Roses", spellings: ["l'hay-les-roses", "L'HAŸ-LES-ROSES"] }
]

for (const { script, country, city, spellings } of scripts) {
  t.test(`${script}: ${city} is registered, found in every spelling, switched and removed`, async t => {
    const app = await build(t)

    const created = await app.inject(write('POST', { country, city, active: false }))
    t.equal(created.statusCode, 201, created.body)
    t.same(created.json(), { result: 'Ok', Insert: { country, city, active: false } })

    for (const spelling of [city, ...spellings]) {
      const response = await app.inject(read(country, spelling))
      t.equal(response.statusCode, 200, `GET ${JSON.stringify(spelling)}`)
      t.same(response.json().city, city, `GET ${JSON.stringify(spelling)} answers with the stored spelling`)
    }
    t.equal((await app.inject(write('POST', { country, city: spellings[0], active: true }))).statusCode, 409, 'another spelling is the same city')

    const updated = await app.inject(write('PUT', { country, city: spellings.at(-1), active: true }))
    t.equal(updated.statusCode, 200, updated.body)
    t.same(updated.json(), { result: 'Ok', update: { country, city, active: true } })
    t.same((await app.inject(read(country, spellings[0] as string))).json(), { active: true, country, city, redis_cache: 'miss' })

    t.equal((await app.inject(remove(country, spellings[0] as string))).statusCode, 204)
    t.equal((await app.inject(read(country, city))).statusCode, 404)
  })
}

t.test('different cities of one script keep different keys; a name mixing scripts is no city', async t => {
  const app = await build(t)
  for (const city of ['Москва', 'Тверь']) {
    t.equal((await app.inject(write('POST', { country: 'RU', city, active: true }))).statusCode, 201, city)
  }
  for (const city of ['Москва', 'Тверь']) t.equal((await app.inject(read('RU', city))).json().city, city)
  // "Moсква" begins with a Latin M and o: it would pass for Москва in a list.
  t.equal((await app.inject(write('POST', { country: 'RU', city: 'Moсква', active: true }))).statusCode, 400, 'Moсква')
})

t.test('a 100-character name fits, in any script: the length is counted in characters and the key stays as long', async t => {
  const app = await build(t)
  // 한 is one character, and three jamo once decomposed; 𠀀 is one character in two UTF-16 code units.
  for (const [country, city] of [['KR', '한'.repeat(100)], ['CN', '𠀀'.repeat(100)], ['RU', 'ж'.repeat(100)]] as const) {
    const created = await app.inject(write('POST', { country, city, active: true }))
    t.equal(created.statusCode, 201, `${city.slice(0, 4)}… ${created.body}`)
    t.equal((await app.inject(read(country, city))).json().city, city)
  }
})

t.test('names that are not city names are 400, naming the city and saying what it must be', async t => {
  const app = await build(t)
  const mustBe = `must be ${CityName.description}`
  const refused: Array<[string, string, string]> = [
    ['a control character', 'Мос\u0000ква', mustBe],
    ['a bell', 'Москва\u0007', mustBe],
    ['a line break', 'Москва\nМинск', mustBe],
    ['a leading tab', '\tМосква', mustBe],
    ['markup', '<script>', mustBe],
    ['markup after a real name', 'Москва<b>', mustBe],
    ['a brace', 'Москва{', mustBe],
    ['a closing brace', '北京}', mustBe],
    ['brackets', 'Αθήνα[1]', mustBe],
    ['a double quote', 'Zürich"', mustBe],
    ['a typographic double quote', '“Zürich”', mustBe],
    ['a backtick', 'Zürich`', mustBe],
    ['a currency symbol', '€', mustBe],
    ['an emoji', 'Москва 🏙', mustBe],
    ['a math symbol', 'القاهرة+', mustBe],
    ['a leading mark', '\u0301Москва', mustBe],
    ['leading punctuation', '-Москва', mustBe],
    ['only spaces', '   ', mustBe],
    ['a zero-width space', 'Моск\u200bва', mustBe],
    ['101 characters', 'ж'.repeat(101), 'must NOT have more than 100 characters'],
    ['101 astral characters', '𠀀'.repeat(101), 'must NOT have more than 100 characters'],
    ['nothing', '', 'must NOT have fewer than 1 characters']
  ]
  for (const [name, city, reason] of refused) {
    const requests = [
      ['GET', 'querystring', read('RU', city)],
      ['DELETE', 'querystring', remove('RU', city)],
      ['POST', 'body', write('POST', { country: 'RU', city, active: true })],
      ['PUT', 'body', write('PUT', { country: 'RU', city, active: true })]
    ] as const
    for (const [method, where, request] of requests) {
      const response = await app.inject(request)
      t.equal(response.statusCode, 400, `${method} with ${name}`)
      t.same(response.json(), { statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: `${where}/city ${reason}` }, `${method} with ${name}`)
    }
  }
})
