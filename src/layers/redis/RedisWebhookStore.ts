/**
 * WebhookStore on Redis. An endpoint is a JSON string, changed by compare-and-set; a sorted set
 * per owner lists them. A delivery is a JSON string kept for `deliveryRetentionSeconds`, in its
 * endpoint's log (a sorted set by creation, trimmed to the newest `loggedPerEndpoint`) and, while
 * pending, in one schedule (a sorted set by the time it may next be claimed). Claiming moves a
 * delivery's time to the end of its claim in one script, so two dispatchers never claim it at once.
 */
import { Effect, Layer, Schema } from "effect"
import { WebhookNotFound, WebhookStoreFailed } from "../../domain/Errors.ts"
import type { Delivery as DeliveryType, WebhookEndpoint as EndpointType } from "../../domain/Webhooks.ts"
import { Delivery, WebhookEndpoint } from "../../domain/Webhooks.ts"
import { RedisConnection } from "../../services/RedisConnection.ts"
import { WebhookStore } from "../../services/WebhookStore.ts"
import { defineScripts, redisCall } from "./RedisConnection.ts"
import { decodeScriptReply } from "./scriptReply.ts"

/** A delivery's log entry outlives the day of retries by a month. */
export const deliveryRetentionSeconds = 31 * 24 * 3600
const loggedPerEndpoint = 1000
const maxAttempts = 50

const EndpointJson = Schema.fromJsonString(WebhookEndpoint)
const DeliveryJson = Schema.fromJsonString(Delivery)
const encodeEndpoint = Schema.encodeSync(EndpointJson)
const encodeDelivery = Schema.encodeSync(DeliveryJson)

/** KEYS: endpoint. ARGV: the JSON read, the JSON to write. 1 when it was still the one read. */
const endpointSetScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`

/** KEYS: delivery, schedule, endpoint log. ARGV: JSON, next attempt, id, created, ttl, pending (1/0). */
const addDeliveryScript = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[5]) then return 0 end
if ARGV[6] == '1' then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3]) end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -${loggedPerEndpoint + 1})
return 1
`

/** KEYS: schedule. ARGV: now, claimed until, limit. The ids claimed. */
const claimScript = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
`

export const makeRedisWebhookStore = Effect.gen(function*() {
  const { client, prefix } = yield* RedisConnection
  const oneKey = defineScripts(client, 1, { vidpipeWebhookSet: endpointSetScript, vidpipeDeliveriesClaim: claimScript })
  const threeKeys = defineScripts(client, 3, { vidpipeDeliveryAdd: addDeliveryScript })
  const endpointKey = (id: string) => `${prefix}:webhook:${id}`
  const byOwner = (owner: string) => `${prefix}:webhooks:owner:${owner}`
  const deliveryKey = (id: string) => `${prefix}:delivery:${id}`
  const logOf = (endpointId: string) => `${prefix}:deliveries:endpoint:${endpointId}`
  const schedule = `${prefix}:deliveries:due`

  const fail = (operation: string) => (reason: string) => new WebhookStoreFailed({ operation, reason, retryable: true })
  const call = <A>(operation: string, run: () => Promise<A>) => redisCall(run, fail(operation))
  const unreadable = (operation: string, id: string) => (error: { readonly message: string }) =>
    new WebhookStoreFailed({ operation, reason: `unreadable record ${id}: ${error.message}`, retryable: false })
  const decodeEndpoint = (operation: string, id: string, json: string) =>
    Schema.decodeUnknownEffect(EndpointJson)(json).pipe(Effect.mapError(unreadable(operation, id)))
  const decodeDelivery = (operation: string, id: string, json: string) =>
    Schema.decodeUnknownEffect(DeliveryJson)(json).pipe(Effect.mapError(unreadable(operation, id)))
  const claimedIds = decodeScriptReply(Schema.Array(Schema.String), fail("claimDue"))

  const readEndpoint = Effect.fnUntraced(function*(id: string) {
    const json = yield* call("getEndpoint", () => client.get(endpointKey(id)))
    if (json === null) return yield* new WebhookNotFound({ id })
    return { json, endpoint: yield* decodeEndpoint("getEndpoint", id, json) }
  })

  /** The deliveries of these ids that still exist, in the same order. */
  const readDeliveries = Effect.fnUntraced(function*(operation: string, ids: ReadonlyArray<string>) {
    if (ids.length === 0) return []
    const jsons = yield* call(operation, () => client.mget(ids.map(deliveryKey)))
    const found: Array<DeliveryType> = []
    for (const [i, json] of jsons.entries()) {
      if (json !== null) found.push(yield* decodeDelivery(operation, ids[i] ?? "", json))
    }
    return found
  })

  const scheduleOf = (delivery: DeliveryType) => delivery.status === "pending" ? "1" : "0"

  return WebhookStore.of({
    createEndpoint: Effect.fn("WebhookStore.createEndpoint")(function*(endpoint: EndpointType) {
      yield* call("createEndpoint", () =>
        client.multi().set(endpointKey(endpoint.id), encodeEndpoint(endpoint)).zadd(byOwner(endpoint.owner), endpoint.createdAt, endpoint.id).exec())
    }),
    getEndpoint: Effect.fn("WebhookStore.getEndpoint")(function*(id: string) {
      return (yield* readEndpoint(id)).endpoint
    }),
    listEndpoints: Effect.fn("WebhookStore.listEndpoints")(function*(owner: string) {
      const ids = yield* call("listEndpoints", () => client.zrange(byOwner(owner), "0", "-1"))
      if (ids.length === 0) return []
      const jsons = yield* call("listEndpoints", () => client.mget(ids.map(endpointKey)))
      const endpoints: Array<EndpointType> = []
      for (const [i, json] of jsons.entries()) {
        if (json !== null) endpoints.push(yield* decodeEndpoint("listEndpoints", ids[i] ?? "", json))
      }
      return endpoints
    }),
    updateEndpoint: Effect.fn("WebhookStore.updateEndpoint")(function*(id: string, change: (endpoint: EndpointType) => EndpointType) {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const { endpoint, json } = yield* readEndpoint(id)
        const next = change(endpoint)
        if (Number(yield* call("updateEndpoint", () => oneKey.vidpipeWebhookSet(endpointKey(id), json, encodeEndpoint(next)))) === 1) return next
      }
      return yield* new WebhookStoreFailed({ operation: "updateEndpoint", reason: `webhook ${id} kept changing under ${maxAttempts} attempts`, retryable: true })
    }),
    deleteEndpoint: Effect.fn("WebhookStore.deleteEndpoint")(function*(id: string) {
      const found = yield* readEndpoint(id).pipe(Effect.map(({ endpoint }) => endpoint), Effect.catchTag("WebhookNotFound", () => Effect.succeed(undefined)))
      const logged = yield* call("deleteEndpoint", () => client.zrange(logOf(id), "0", "-1"))
      const batch = client.multi().del(endpointKey(id))
      if (found !== undefined) batch.zrem(byOwner(found.owner), id)
      if (logged.length > 0) batch.zrem(schedule, ...logged)
      yield* call("deleteEndpoint", () => batch.exec())
    }),
    addDelivery: Effect.fn("WebhookStore.addDelivery")(function*(delivery: DeliveryType) {
      const added = yield* call("addDelivery", () =>
        threeKeys.vidpipeDeliveryAdd(
          deliveryKey(delivery.id), schedule, logOf(delivery.endpointId),
          encodeDelivery(delivery), delivery.nextAttemptAt, delivery.id, delivery.createdAt, deliveryRetentionSeconds, scheduleOf(delivery)
        ))
      return Number(added) === 1
    }),
    getDelivery: Effect.fn("WebhookStore.getDelivery")(function*(id: string) {
      const [delivery] = yield* readDeliveries("getDelivery", [id])
      return delivery ?? (yield* new WebhookNotFound({ id }))
    }),
    claimDue: Effect.fn("WebhookStore.claimDue")(function*(now: number, leaseMs: number, limit: number) {
      const ids = yield* claimedIds(yield* call("claimDue", () => oneKey.vidpipeDeliveriesClaim(schedule, now, now + leaseMs, limit)))
      const found = yield* readDeliveries("claimDue", ids)
      // A record gone (expired) leaves nothing to deliver: its schedule entry goes too.
      const gone = ids.filter((id) => !found.some((d) => d.id === id))
      if (gone.length > 0) yield* call("claimDue", () => client.zrem(schedule, ...gone))
      return found
    }),
    saveDelivery: Effect.fn("WebhookStore.saveDelivery")(function*(delivery: DeliveryType) {
      const batch = client.multi().set(deliveryKey(delivery.id), encodeDelivery(delivery), "EX", deliveryRetentionSeconds)
      if (delivery.status === "pending") batch.zadd(schedule, delivery.nextAttemptAt, delivery.id)
      else batch.zrem(schedule, delivery.id)
      yield* call("saveDelivery", () => batch.exec())
    }),
    listDeliveries: Effect.fn("WebhookStore.listDeliveries")(function*(endpointId: string, limit: number) {
      const ids = yield* call("listDeliveries", () => client.zrevrange(logOf(endpointId), 0, limit - 1))
      return yield* readDeliveries("listDeliveries", ids)
    })
  })
})

export const redisWebhookStoreLayer = Layer.effect(WebhookStore, makeRedisWebhookStore)
