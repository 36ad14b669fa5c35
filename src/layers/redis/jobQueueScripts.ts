/**
 * Lua for RedisJobQueue. Every script takes the same six keys
 * (stream, available, inflight, locks, dead, seq) and ARGV[1] = the `p:queue` base that names
 * the per-message keys. Time comes from the server's TIME so clients' clocks never matter.
 * Each script's reply Schema is beside it.
 */
import { Schema } from "effect"

/** 1 when the receipt was the current delivery (or, for delete, was deleted before), else 0. */
export const ReceiptReply = Schema.Literals([0, 1])

const prelude = `
local S, AV, INF, LOCKS, DLQ, SEQ = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local base = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function msgKey(id) return base .. ':msg:' .. id end
local function ensureGroup() redis.pcall('XGROUP', 'CREATE', S, 'workers', '0', 'MKSTREAM') end
local function release(group, id)
  if redis.call('HGET', LOCKS, group) == id then redis.call('HDEL', LOCKS, group) end
end
local function idOf(receipt) return string.match(receipt, '^([^/]+)/') end
`

/** ARGV: base, dedupId, group, body, windowMs. Returns {messageId, duplicate 0|1}. */
export const sendScript = `${prelude}
local dedupKey = base .. ':dedup:' .. ARGV[2]
local existing = redis.call('GET', dedupKey)
if existing then return {existing, 1} end
ensureGroup()
local id = redis.call('XADD', S, '*', 'group', ARGV[3], 'body', ARGV[4])
local seq = redis.call('INCR', SEQ)
redis.call('HSET', msgKey(id), 'body', ARGV[4], 'group', ARGV[3], 'seq', seq, 'count', 0, 'receipt', '')
redis.call('ZADD', AV, seq, id)
if tonumber(ARGV[5]) > 0 then redis.call('SET', dedupKey, id, 'PX', ARGV[5]) end
return {id, 0}
`
export const SendReply = Schema.Tuple([Schema.String, Schema.Literals([0, 1])])

/**
 * ARGV: base, consumer, maxMessages, visibilityMs, maxReceiveCount.
 * Returns {now, earliest in-flight deadline or -1, then {id, receipt, body, group, count} per message}.
 */
export const receiveScript = `${prelude}
local consumer, max, vis, maxReceive = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
ensureGroup()
-- New entries join the PEL (under 'intake') so XPENDING and XCLAIM can track their holders.
redis.call('XREADGROUP', 'GROUP', 'workers', 'intake', 'COUNT', 1000, 'STREAMS', S, '>')
-- Deliveries past their deadline become visible again at their original FIFO position.
local expired = redis.call('ZRANGEBYSCORE', INF, '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(expired) do
  redis.call('ZREM', INF, id)
  local m = redis.call('HMGET', msgKey(id), 'group', 'seq')
  if m[1] then
    release(m[1], id)
    redis.call('ZADD', AV, m[2], id)
  end
end
local out = {now, -1}
local taken, scanned, from, seen = 0, 0, '-inf', {}
while taken < max and scanned < 1000 do
  local page = redis.call('ZRANGEBYSCORE', AV, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 200)
  if #page == 0 then break end
  for i = 1, #page, 2 do
    if taken >= max then break end
    local id = page[i]
    from = '(' .. page[i + 1]
    scanned = scanned + 1
    local key = msgKey(id)
    local m = redis.call('HMGET', key, 'group', 'count', 'body')
    local group = m[1]
    if not group then
      redis.call('ZREM', AV, id)
    else
      local holder = redis.call('HGET', LOCKS, group)
      -- One message per group per call; a locked group's later messages wait (FIFO).
      local blocked = seen[group] or (holder and holder ~= id)
      seen[group] = true
      if not blocked then
        local count = tonumber(m[2])
        redis.call('ZREM', AV, id)
        if count >= maxReceive then
          redis.call('XADD', DLQ, '*', 'id', id, 'body', m[3], 'group', group, 'count', count)
          redis.call('XACK', S, 'workers', id)
          redis.call('XDEL', S, id)
          redis.call('DEL', key)
        else
          count = count + 1
          local receipt = id .. '/' .. count .. '/' .. now
          redis.call('HSET', key, 'count', count, 'receipt', receipt)
          redis.call('ZADD', INF, now + vis, id)
          redis.call('HSET', LOCKS, group, id)
          redis.call('XCLAIM', S, 'workers', consumer, 0, id, 'JUSTID')
          taken = taken + 1
          out[#out + 1] = {id, receipt, m[3], group, count}
        end
      end
    end
  end
end
local earliest = redis.call('ZRANGE', INF, 0, 0, 'WITHSCORES')
if earliest[2] then out[2] = tonumber(earliest[2]) end
return out
`
export const ReceiveReply = Schema.TupleWithRest(Schema.Tuple([Schema.Int, Schema.Int]), [
  Schema.Tuple([Schema.String, Schema.String, Schema.String, Schema.String, Schema.Int])
])

/** ARGV: base, receipt, visibilityMs. Returns 1, or 0 when the receipt is not the current delivery. */
export const extendScript = `${prelude}
local receipt, vis = ARGV[2], tonumber(ARGV[3])
local id = idOf(receipt)
if not id then return 0 end
local m = redis.call('HMGET', msgKey(id), 'receipt', 'group', 'seq')
if m[1] ~= receipt then return 0 end
if vis <= 0 then
  redis.call('ZREM', INF, id)
  redis.call('ZADD', AV, m[3], id)
  release(m[2], id)
else
  redis.call('ZREM', AV, id)
  redis.call('ZADD', INF, now + vis, id)
  redis.call('HSET', LOCKS, m[2], id)
end
return 1
`

/** ARGV: base, receipt. Returns 1 (deleted now or before), 0 (expired). */
export const deleteScript = `${prelude}
local receipt = ARGV[2]
local deletedKey = base .. ':deleted:' .. receipt
local id = idOf(receipt)
if id then
  local key = msgKey(id)
  local m = redis.call('HMGET', key, 'receipt', 'group')
  if m[1] == receipt then
    release(m[2], id)
    redis.call('ZREM', INF, id)
    redis.call('ZREM', AV, id)
    redis.call('XACK', S, 'workers', id)
    redis.call('XDEL', S, id)
    redis.call('DEL', key)
    redis.call('SET', deletedKey, '1', 'EX', 3600)
    return 1
  end
end
return redis.call('EXISTS', deletedKey)
`

/** Returns {visible, inFlight, deadLettered}; a delivery past its deadline counts as visible. */
export const depthScript = `${prelude}
local due = redis.call('ZCOUNT', INF, '-inf', now)
local flying = redis.call('ZCOUNT', INF, '(' .. now, '+inf')
return {redis.call('ZCARD', AV) + due, flying, redis.call('XLEN', DLQ)}
`
export const DepthReply = Schema.Tuple([Schema.Int, Schema.Int, Schema.Int])
