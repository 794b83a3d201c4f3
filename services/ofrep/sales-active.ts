import { FLAG_KEY, type EvaluationContextData, type EvaluationSuccessData } from '../../schemas/ofrep.ts'
import { isCityName } from '../../schemas/formats.ts'
import { isAssignedCountryCode } from '../../domain/countries.ts'
import type { AvailabilityService, TaggedAnswer } from '../availability/service.ts'

export interface ContextLocation {
  country: string
  city: string
}

/** A context that names no location we can read: OFREP's INVALID_CONTEXT, with what to fix. */
export class InvalidContextError extends Error {
  statusCode = 400
}

/**
 * The location a context names: its `country` and `city` when it has both,
 * otherwise its `targetingKey` read as `COUNTRY/City`. OFREP marks
 * targetingKey required, and providers send one; a location is what
 * `sales-active` depends on, so the attributes win when both are given.
 */
export function locationOfContext (context: EvaluationContextData): ContextLocation {
  const { country, city, targetingKey } = context
  let location: ContextLocation
  if (typeof country === 'string' && typeof city === 'string') location = { country, city }
  else if (typeof targetingKey === 'string' && targetingKey.includes('/')) {
    const slash = targetingKey.indexOf('/')
    location = { country: targetingKey.slice(0, slash), city: targetingKey.slice(slash + 1) }
  } else throw new InvalidContextError('The context names no location: give context.country and context.city, or a targetingKey "COUNTRY/City" (NI/Managua)')
  if (!isAssignedCountryCode(location.country)) throw new InvalidContextError(`"${location.country}" is not an assigned ISO 3166-1 alpha-2 country code`)
  if (!isCityName(location.city)) throw new InvalidContextError(`"${location.city}" is not a city name`)
  return location
}

/**
 * `sales-active` for a location, read through the cache like GET /active:
 * a registered location's flag (TARGETING_MATCH, variant active/inactive),
 * or false for one that is not registered (STATIC, variant unregistered):
 * no sales where no city is registered. The tag depends on the data alone.
 */
export async function evaluateSalesActive (service: AvailabilityService, { country, city }: ContextLocation): Promise<TaggedAnswer<EvaluationSuccessData>> {
  const { body: { location, outcome }, etag } = await service.find(country, city)
  const body: EvaluationSuccessData = location === undefined
    ? { key: FLAG_KEY, value: false, reason: 'STATIC', variant: 'unregistered', metadata: { redis_cache: outcome, registered: false } }
    : {
        key: FLAG_KEY,
        value: location.active,
        reason: 'TARGETING_MATCH',
        variant: location.active ? 'active' : 'inactive',
        metadata: { redis_cache: outcome, registered: true, country: location.country, city: location.city }
      }
  return { body, etag }
}
