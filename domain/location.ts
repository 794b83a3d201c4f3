/** A location as the data layer and the cache know it: the same place whatever its spelling. */
export interface LocationId {
  /** ISO 3166-1 alpha-2, upper case. */
  country: string
  /** City folded for comparison: compatibility forms folded (NFKC), trimmed, single-spaced, lower case, without accents, in NFC. */
  cityKey: string
}

// Accents, not every combining mark: the diacritic blocks (Latin, Greek and Cyrillic accents), and the
// Hebrew and Arabic vowel points, which are optional in writing. Other scripts' marks are letters'
// parts: Devanagari and Thai vowel signs, the Japanese voicing marks (पटना and पाटन are two cities).
// eslint-disable-next-line no-misleading-character-class -- marks on their own are what this class matches
const ACCENTS = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\u0591-\u05c7\u064b-\u065f\u0670]/g
// Letters whose accent is part of the letter, so NFD cannot strip it ("Łódź" is "Lodz"), and the
// Greek final sigma, which lower-casing writes at the end of a word whatever was typed.
const UNDECOMPOSABLE: Record<string, string> = { ł: 'l', ø: 'o', đ: 'd', ħ: 'h', ı: 'i', ŧ: 't', ß: 'ss', æ: 'ae', œ: 'oe', ς: 'σ' }
const UNDECOMPOSABLE_LETTERS = /[łøđħıŧßæœς]/g
const WHITESPACE_RUNS = /\s+/g
// Printable ASCII: nothing to decompose, and the only whitespace is the space.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

/**
 * The spelling kept for display: trimmed and single-spaced, case and accents as written, and
 * compatibility forms folded (NFKC): "Ｍａｎａｇｕａ" and "𝐌𝐚𝐧𝐚𝐠𝐮𝐚" are stored and listed as "Managua".
 */
export function displayCity (city: string): string {
  return city.normalize('NFKC').trim().replace(WHITESPACE_RUNS, ' ')
}

export function cityKey (city: string): string {
  // Most names are plain ASCII, and a key is folded on every read: this is a fifth of the full fold's cost.
  if (PRINTABLE_ASCII.test(city)) {
    const trimmed = city.trim()
    return (trimmed.includes('  ') ? trimmed.replace(WHITESPACE_RUNS, ' ') : trimmed).toLowerCase()
  }
  // NFC at the end: NFD splits a Hangul syllable into two or three jamo, which are letters, not
  // marks, so they would stay split and a 100-syllable name would not fit city_key's 100 characters.
  return displayCity(city).normalize('NFD').replace(ACCENTS, '').toLowerCase()
    .replace(UNDECOMPOSABLE_LETTERS, letter => UNDECOMPOSABLE[letter] as string)
    .normalize('NFC')
}

/** One location as a map key in this process (single flights, pending invalidations, read batches). */
export function locationKey (id: LocationId): string {
  return `${id.country}:${id.cityKey}`
}

export function locationId (country: string, city: string): LocationId {
  return { country: country.toUpperCase(), cityKey: cityKey(city) }
}
