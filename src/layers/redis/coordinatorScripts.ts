/**
 * The coordinator's Lua scripts. Each runs atomically in Redis, so "was this the last completion?"
 * and "who holds the finalize lease?" have exactly one answer however many workers ask at once.
 * KEYS[1] = set of completed task ids, KEYS[2] = hash {total, finalized, owner, token, expires, lastToken}.
 * Time is Redis's own (TIME), so workers' clocks do not matter. Each script's reply Schema is
 * beside it.
 */
import { Schema } from "effect"

/** A lease as the scripts return it: {token (0 = no lease), expiresAt}. */
export const LeaseReply = Schema.Tuple([Schema.Int, Schema.Int])

/** 1 when the script did it, 0 when the caller no longer holds the lease. */
export const DoneReply = Schema.Literals([0, 1])

const prelude = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[#ARGV])
local function tryLease(owner, leaseMs)
  local total = tonumber(redis.call('HGET', KEYS[2], 'total'))
  local count = redis.call('SCARD', KEYS[1])
  if total == nil or count < total then return {0, 0} end
  if redis.call('HGET', KEYS[2], 'finalized') == '1' then return {0, 0} end
  local expires = tonumber(redis.call('HGET', KEYS[2], 'expires'))
  if expires ~= nil and expires > now then return {0, 0} end
  local token = redis.call('HINCRBY', KEYS[2], 'lastToken', 1)
  redis.call('HSET', KEYS[2], 'owner', owner, 'token', token, 'expires', now + leaseMs)
  return {token, now + leaseMs}
end
local function holds(token)
  return redis.call('HGET', KEYS[2], 'finalized') ~= '1'
    and redis.call('HGET', KEYS[2], 'token') == token
    and tonumber(redis.call('HGET', KEYS[2], 'expires') or '0') > now
end
local function touch()
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
`

/** ARGV: taskId, total, owner, leaseMs, ttlMs → {completed, token (0 = no lease), expiresAt} */
export const completeScript = `${prelude}
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'total', ARGV[2])
touch()
local lease = tryLease(ARGV[3], tonumber(ARGV[4]))
return {redis.call('SCARD', KEYS[1]), lease[1], lease[2]}
`
export const CompleteReply = Schema.Tuple([Schema.Int, Schema.Int, Schema.Int])

/** ARGV: owner, leaseMs, ttlMs → {token (0 = none), expiresAt} */
export const claimScript = `${prelude}
if redis.call('EXISTS', KEYS[2]) == 0 then return {0, 0} end
return tryLease(ARGV[1], tonumber(ARGV[2]))
`

/** ARGV: token, leaseMs, ttlMs → 1 when renewed */
export const renewScript = `${prelude}
if not holds(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 'expires', now + tonumber(ARGV[2]))
return 1
`

/** ARGV: token, ttlMs → 1 when this token's holder recorded the job as finalized */
export const markFinalizedScript = `${prelude}
if not holds(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 'finalized', '1')
redis.call('HDEL', KEYS[2], 'owner', 'token', 'expires')
touch()
return 1
`
