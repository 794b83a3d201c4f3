import { countries } from 'countries-list'

/**
 * ISO 3166-1 alpha-2 codes that ISO has assigned. countries-list also
 * carries user-assigned codes (XK for Kosovo), which are not.
 */
const assignedCountryCodes: ReadonlySet<string> = new Set(
  Object.entries(countries)
    .filter(([, country]) => !('userAssigned' in country && country.userAssigned))
    .map(([code]) => code)
)

// Every spelling of every code ("NI", "ni", "Ni", "nI"): the validator asks on every request, and a lookup costs less than upper-casing first.
const inAnyCase: ReadonlySet<string> = new Set([...assignedCountryCodes].flatMap(code => {
  const [first, second] = [...code.toLowerCase()] as [string, string]
  return [code, code.toLowerCase(), first.toUpperCase() + second, first + second.toUpperCase()]
}))

export function isAssignedCountryCode (value: string): boolean {
  return inAnyCase.has(value)
}

/** Country code and capital of every assigned country that has one. */
export function capitals (): Array<{ country: string, city: string }> {
  return Object.entries(countries)
    .filter(([code, country]) => assignedCountryCodes.has(code) && country.capital !== '')
    .map(([code, country]) => ({ country: code, city: country.capital }))
}

/** Every assigned country code, sorted: what a client may offer to choose from. */
export function assignedCountries (): string[] {
  return [...assignedCountryCodes].sort()
}
