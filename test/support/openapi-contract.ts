import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { customFormats } from '../../schemas/formats.ts'

interface OpenApiOperation {
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>
}

const pointer = (...parts: string[]) => parts.map(part => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')

/**
 * Checks every response the app sends against the OpenAPI document it
 * generates: the status is documented for that operation, the content type
 * is one the operation declares, and the body matches its schema. A
 * mismatch fails the test that caused it, so the docs cannot drift from
 * the behaviour.
 */
export function assertResponsesMatchOpenApi (t: Pick<Test, 'fail'>, app: FastifyInstance): void {
  let ajv: Ajv2020 | undefined
  let paths: Record<string, Record<string, OpenApiOperation>> = {}

  function validator (): Ajv2020 {
    if (ajv === undefined) {
      const document = app.swagger() as unknown as { paths: typeof paths }
      paths = document.paths
      ajv = new Ajv2020({ strict: false, allErrors: true, formats: customFormats })
      addFormats.default(ajv)
      ajv.addSchema({ ...document, $id: 'openapi' })
    }
    return ajv
  }

  app.addHook('onSend', async (request, reply, payload) => {
    const ajv = validator()
    const url = request.routeOptions.url
    const method = request.method.toLowerCase()
    // Routes outside the document (the not-found handler, the docs UI itself) have no contract.
    const operation = url === undefined ? undefined : paths[url]?.[method]
    if (operation === undefined || url === undefined) return payload

    const where = `${request.method} ${url} → ${reply.statusCode}`
    const response = operation.responses[String(reply.statusCode)]
    if (response === undefined) {
      t.fail(`${where}: status not documented`)
      return payload
    }
    if (response.content === undefined) return payload

    const contentType = String(reply.getHeader('content-type') ?? '').split(';')[0] ?? ''
    const mediaTypes = Object.keys(response.content)
    const mediaType = mediaTypes.find(type => type === contentType || (type === 'text/plain' && contentType.startsWith('text/')))
    if (mediaType === undefined) {
      t.fail(`${where}: content type ${contentType} not in ${mediaTypes.join(', ')}`)
      return payload
    }

    const body = contentType === 'application/json' ? JSON.parse(String(payload)) : String(payload)
    const schemaRef = `openapi#/${pointer('paths', url, method, 'responses', String(reply.statusCode), 'content', mediaType, 'schema')}`
    const validate = ajv.getSchema(schemaRef)
    if (validate === undefined) {
      t.fail(`${where}: no schema at ${schemaRef}`)
    } else if (!validate(body)) {
      t.fail(`${where}: body does not match the documented schema: ${ajv.errorsText(validate.errors)}`, { body })
    }
    return payload
  })
}
