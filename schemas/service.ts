import { Type } from '@sinclair/typebox'

export const ServiceInfo = Type.Object({
  id: Type.Literal('Servicio NicaVentas - Disponibilidad de Ventas'),
  version: Type.String({ examples: ['4.0.0'] }),
  status: Type.String({ examples: ['En Producción'] })
}, { additionalProperties: false, description: 'The service and the version that runs' })
