import { demoLocations } from '../db/demo-data.ts'
import { locationId } from '../services/location.ts'

export interface BenchLocation {
  country: string
  city: string
  active: boolean
  /** GET /active for this location, encoded as a client sends it. */
  path: string
  /** The cache's entry and lease keys for it (see cacheKeys). */
  keys: [string, string]
}

/**
 * The service's key layout, `<namespace>:v1:{<COUNTRY>:<cityKey>}:entry|lease`
 * (services/availability-cache.ts). Repeated here because the miss scenario
 * deletes keys behind the service's back; if the layout changes, that
 * scenario's measured miss ratio drops and the bench fails loudly.
 */
function cacheKeys (namespace: string, country: string, city: string): [string, string] {
  const id = locationId(country, city)
  const prefix = `${namespace}:v1:{${id.country}:${id.cityKey}}`
  return [`${prefix}:entry`, `${prefix}:lease`]
}

/** Every demo location (about 250 capitals and a few Nicaraguan cities), the ones the service loads with DEMO_DATA=true. */
export function benchLocations (namespace: string): BenchLocation[] {
  return demoLocations().map(({ country, city, active }) => ({
    country,
    city,
    active,
    path: `/active?country=${country}&city=${encodeURIComponent(city)}`,
    keys: cacheKeys(namespace, country, city)
  }))
}
