import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import packageJson from '../package.json' with { type: 'json' }
import { ServiceInfo } from '../schemas/service.ts'

const rootRoute: FastifyPluginAsyncTypebox = async (fastify) => {
  const info = {
    id: 'Servicio NicaVentas - Disponibilidad de Ventas',
    version: packageJson.version,
    status: fastify.config.NODE_ENV === 'production' ? 'En Producción' : 'En Desarrollo'
  } as const

  fastify.get('/', {
    schema: {
      tags: ['service'],
      operationId: 'getServiceInfo',
      security: [],
      summary: 'What this service is and which version runs',
      response: { 200: ServiceInfo }
    }
  }, async () => info)
}

export default rootRoute
