import { demoLocations } from '../db/demo-data.ts'
import { locationKeys } from '../services/availability/location-keys.ts'
import { locationId } from '../domain/location.ts'

export interface BenchLocation {
  country: string
  city: string
  active: boolean
  /** GET /active for this location, encoded as a client sends it. */
  path: string
  /** The cache's keys for it, which the miss scenario deletes behind the service's back. */
  keys: string[]
}

/** Every demo location (about 250 capitals and a few Nicaraguan cities), the ones the service loads with DEMO_DATA=true. */
export function benchLocations (namespace: string): BenchLocation[] {
  return demoLocations().map(({ country, city, active }) => ({
    country,
    city,
    active,
    path: `/active?country=${country}&city=${encodeURIComponent(city)}`,
    keys: Object.values(locationKeys(namespace, locationId(country, city)))
  }))
}
