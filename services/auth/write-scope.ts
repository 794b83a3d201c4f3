import type { OperatorScope } from '../../config/operator-tokens.ts'

/**
 * Why this scope may not change a city of `country` (any case), or undefined when it may: the
 * message a 403 answers with, naming the country and what the token may change instead.
 */
export function writeRefusal (scope: OperatorScope, country: string): string | undefined {
  if (scope.readOnly) return 'This token may only read the history; it may not change any city'
  const upper = country.toUpperCase()
  if (scope.countries === undefined || scope.countries.includes(upper)) return undefined
  return `This token may not change cities in ${upper}; it may change ${scope.countries.join(', ')}`
}
