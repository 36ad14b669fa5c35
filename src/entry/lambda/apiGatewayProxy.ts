/**
 * API Gateway REST API (v1) Lambda proxy integration ⇄ web `Request`/`Response`. Pure conversions,
 * so the same HttpApi answers behind API Gateway as in `vidpipe serve`.
 */
import type { APIGatewayEventIdentity, APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda"
import { gatewayKeyIdHeader } from "../http/api/ApiKeys.ts"

type Values<V> = Readonly<Record<string, V | undefined>> | null | undefined

/** Each field may be absent or null: AWS documents many as nullable, and its own samples leave some out. */
type Lenient<T> = { readonly [K in keyof T]?: T[K] | null }

/**
 * The fields of a v1 proxy event (`@types/aws-lambda`'s APIGatewayProxyEvent) that shape the
 * request; the rest is ignored. Only `httpMethod` is required. `path` is the request path without
 * the stage on the execute-api endpoint; `resource` (e.g. `/v1/jobs/{jobId}` or `/{proxy+}`) is
 * used when `path` is absent.
 */
export type ApiGatewayProxyEvent =
  & Pick<APIGatewayProxyEvent, "httpMethod">
  & Lenient<
    Pick<
      APIGatewayProxyEvent,
      | "path"
      | "resource"
      | "pathParameters"
      | "headers"
      | "multiValueHeaders"
      | "queryStringParameters"
      | "multiValueQueryStringParameters"
      | "body"
      | "isBase64Encoded"
    >
  >
  & {
    /**
     * "the key is the name of a $context variable property … API Gateway may add new keys to the
     * map" (API Gateway Developer Guide); `domainName` is "The full domain name used to invoke the
     * API", and "identity.apiKeyId: The API key ID associated with an API request that requires an
     * API key."
     */
    readonly requestContext?:
      | Lenient<Pick<APIGatewayProxyEvent["requestContext"], "domainName">> & {
        readonly identity?: Lenient<Pick<APIGatewayEventIdentity, "apiKeyId">> | null
      }
      | null
  }

/** What `fromResponse` makes: `@types/aws-lambda`'s result, with string headers and the base64 flag always set. */
export type ApiGatewayProxyResult = APIGatewayProxyResult & {
  readonly headers: Record<string, string>
  readonly multiValueHeaders?: Record<string, Array<string>>
  readonly isBase64Encoded: boolean
}

const entries = <V>(values: Values<V>): Array<[string, V]> =>
  Object.entries(values ?? {}).flatMap(([k, v]) => (v === undefined || v === null ? [] : [[k, v as V]]))

/** `/v1/jobs/{jobId}` + `{ jobId: "a b" }` → `/v1/jobs/a%20b`; `{proxy+}` keeps its slashes. */
const fillResource = (resource: string, parameters: Values<string>) =>
  resource.replace(/\{([^}+]+)(\+?)\}/g, (_, name: string, greedy: string) => {
    const value = parameters?.[name] ?? ""
    return greedy === "+" ? value.split("/").map(encodeURIComponent).join("/") : encodeURIComponent(value)
  })

const requestPath = (event: ApiGatewayProxyEvent) =>
  event.path ?? (event.resource ? fillResource(event.resource, event.pathParameters) : "/")

/** The multi-value forms hold every value; the single-value forms only the last one. */
const headerPairs = (event: ApiGatewayProxyEvent): Array<[string, string]> =>
  event.multiValueHeaders
    ? entries(event.multiValueHeaders).flatMap(([k, vs]) => vs.map((v): [string, string] => [k, v]))
    : entries(event.headers)

const queryPairs = (event: ApiGatewayProxyEvent): Array<[string, string]> =>
  event.multiValueQueryStringParameters
    ? entries(event.multiValueQueryStringParameters).flatMap(([k, vs]) => vs.map((v): [string, string] => [k, v]))
    : entries(event.queryStringParameters)

export const toRequest = (event: ApiGatewayProxyEvent): Request => {
  const headers = new Headers()
  for (const [name, value] of headerPairs(event)) headers.append(name, value)
  // Only API Gateway says which usage plan key was used: a client's own copy of the header is dropped.
  headers.delete(gatewayKeyIdHeader)
  const apiKeyId = event.requestContext?.identity?.apiKeyId
  if (typeof apiKeyId === "string" && apiKeyId.length > 0) headers.set(gatewayKeyIdHeader, apiKeyId)
  // AWS's documented proxy input has no Host header; its requestContext names the domain.
  const host = headers.get("host") ?? event.requestContext?.domainName ?? "lambda.invalid"
  const proto = headers.get("x-forwarded-proto") ?? "https"
  const url = new URL(requestPath(event), `${proto}://${host}`)
  for (const [name, value] of queryPairs(event)) url.searchParams.append(name, value)
  const method = event.httpMethod.toUpperCase()
  const hasBody = method !== "GET" && method !== "HEAD" && event.body !== undefined && event.body !== null
  if (!hasBody) return new Request(url, { method, headers })
  // Bytes, not a string: a string body would make Request add `content-type: text/plain`.
  const body = Buffer.from(event.body ?? "", event.isBase64Encoded ? "base64" : "utf8")
  // The body is whole here, so its real length is known (the API's size guard reads it).
  headers.set("content-length", String(body.byteLength))
  return new Request(url, { method, headers, body })
}

const textual = /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|x-www-form-urlencoded)\b|image\/svg\+xml)/i

// API Gateway owns the connection to the client; these describe ours to it, which there is none of.
const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"])

/**
 * Text stays text; anything else is base64 (API Gateway decodes it only for the binary media types
 * configured on the API, e.g. `*\/*`).
 */
export const fromResponse = async (response: Response): Promise<ApiGatewayProxyResult> => {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    if (!hopByHop.has(name) && name !== "set-cookie") headers[name] = value
  })
  const cookies = response.headers.getSetCookie()
  const bytes = Buffer.from(await response.arrayBuffer())
  const contentType = response.headers.get("content-type") ?? ""
  const binary = bytes.byteLength > 0 && !textual.test(contentType)
  return {
    statusCode: response.status,
    headers,
    ...(cookies.length > 0 ? { multiValueHeaders: { "set-cookie": cookies } } : {}),
    body: bytes.toString(binary ? "base64" : "utf8"),
    isBase64Encoded: binary
  }
}
