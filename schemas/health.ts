import { Type } from '@sinclair/typebox'

export const Health = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false, description: 'The process serves requests' })
export const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  mysql: Type.Union([Type.Literal('ok'), Type.Literal('unreachable')]),
  redis: Type.Union([Type.Literal('ok'), Type.Literal('degraded')], { description: '"degraded": Redis is unreachable and reads go to MySQL' })
}, { additionalProperties: false, description: 'Ready when MySQL answers; Redis is reported but optional' })
