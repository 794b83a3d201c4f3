/** A location as the data layer and the cache know it: the same place whatever its spelling. */
export interface LocationId {
  /** ISO 3166-1 alpha-2, upper case. */
  country: string
  /** City folded for comparison: trimmed, single-spaced, lower case, without accents. */
  cityKey: string
}

const COMBINING_MARKS = /\p{M}/gu
// Latin letters whose accent is part of the letter, so NFD cannot strip it ("Łódź" is "Lodz").
const UNDECOMPOSABLE: Record<string, string> = { ł: 'l', ø: 'o', đ: 'd', ħ: 'h', ı: 'i', ŧ: 't', ß: 'ss', æ: 'ae', œ: 'oe' }
const UNDECOMPOSABLE_LETTERS = /[łøđħıŧßæœ]/g
const WHITESPACE_RUNS = /\s+/g
// Printable ASCII: nothing to decompose, and the only whitespace is the space.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

/** The spelling kept for display: trimmed and single-spaced, case and accents as written. */
export function displayCity (city: string): string {
  return city.trim().replace(WHITESPACE_RUNS, ' ')
}

export function cityKey (city: string): string {
  // Most names are plain ASCII, and a key is folded on every read: this is a fifth of the full fold's cost.
  if (PRINTABLE_ASCII.test(city)) {
    const trimmed = city.trim()
    return (trimmed.includes('  ') ? trimmed.replace(WHITESPACE_RUNS, ' ') : trimmed).toLowerCase()
  }
  return displayCity(city).normalize('NFD').replace(COMBINING_MARKS, '').toLowerCase()
    .replace(UNDECOMPOSABLE_LETTERS, letter => UNDECOMPOSABLE[letter] as string)
}

/** One location as a map key in this process (single flights, pending invalidations, read batches). */
export function locationKey (id: LocationId): string {
  return `${id.country}:${id.cityKey}`
}

export function locationId (country: string, city: string): LocationId {
  return { country: country.toUpperCase(), cityKey: cityKey(city) }
}
