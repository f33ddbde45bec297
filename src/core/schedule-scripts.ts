/**
 * The Lua scripts of time: when pending entries are due again, and when delayed messages are.
 *
 * A group's **retry schedule** (`…:retry:<group>`, a sorted set of entry ids scored by the ms they
 * are due) holds every entry its handlers failed: the back-off by delivery count, or the delay a
 * handler chose (`RetryLaterError`). Reclaim takes stale entries with XAUTOCLAIM and lets the
 * schedule filter what is not due yet; an entry stale without a schedule entry (its consumer died
 * or ran out of time) is due once idle for the visibility timeout.
 *
 * **Delayed messages** wait in `…:scheduled` (schedule ids by delivery time) and `…:scheduled:msgs`
 * (their fields) until a drain of any group moves the due ones into the stream, in the same atomic
 * step as its reclaim. Times are the server's (`TIME`), never a client's clock.
 */
import { defineScript } from './driver.js';

/** `now()`: the server's clock in ms. */
export const LUA_NOW = `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * `createGroup(stream, group, start)`: creates the group at `start` ('$' or '0'), and the stream when
 * it does not exist; an existing group is fine. Returns -1 when the group existed, else how many
 * entries the stream held that a group created at '$' will never see (0 at '0', or for a new
 * stream); any other error as an error reply, which the caller returns.
 */
export const LUA_CREATE_GROUP = `
local function createGroup(stream, group, start)
  local created = redis.pcall('XGROUP', 'CREATE', stream, group, start, 'MKSTREAM')
  if type(created) == 'table' and created.err then
    if string.sub(created.err, 1, 9) ~= 'BUSYGROUP' then return redis.error_reply(created.err) end
    return -1
  end
  if start == '$' then return redis.call('XLEN', stream) end
  return 0
end
`;

/**
 * `promote(stream, scheduled, msgs, at, limit)`: appends the delayed messages due at `at` (at most
 * `limit`) to the stream, each removed from the schedule in the same step. Returns how many it
 * appended and in how many ms the next one is due (-1: none left).
 */
export const LUA_PROMOTE = `
local function promote(stream, scheduled, msgs, at, limit)
  local promoted = 0
  if limit > 0 then
    for _, sid in ipairs(redis.call('ZRANGEBYSCORE', scheduled, '-inf', at, 'LIMIT', 0, limit)) do
      local fields = redis.call('HGET', msgs, sid)
      if fields then
        redis.call('XADD', stream, '*', unpack(cjson.decode(fields)))
        promoted = promoted + 1
      end
      redis.call('ZREM', scheduled, sid)
      redis.call('HDEL', msgs, sid)
    end
  end
  local first = redis.call('ZRANGE', scheduled, 0, 0, 'WITHSCORES')
  if first[2] == nil then return promoted, -1 end
  return promoted, math.max(0, tonumber(first[2]) - at)
end
`;

/**
 * `claimDue(stream, retry, group, consumer, id, deliveries, scheduled, claimed, deleted)`: hands out
 * an entry due now — claimed with its fields, delivery count incremented, dropped from the retry
 * schedule when it is there — or records it as deleted when it is gone from the stream.
 */
const LUA_CLAIM = `
local function claimDue(stream, retry, group, consumer, id, deliveries, scheduled, claimed, deleted)
  local entry = redis.call('XCLAIM', stream, group, consumer, 0, id)[1]
  if scheduled then redis.call('ZREM', retry, id) end
  if entry and entry[2] then
    claimed[#claimed + 1] = {id, deliveries + 1, entry[2]}
  else
    -- Gone from the stream (trimmed or XDELed): XCLAIM dropped it from the pending list.
    redis.call('XACK', stream, group, id)
    deleted[#deleted + 1] = id
  end
end
`;

/**
 * Reclaim one page: promote due delayed messages (first page only), then XAUTOCLAIM … JUSTID takes
 * entries idle at least the visibility timeout without counting a delivery; of those, the ones the
 * retry schedule says are not due go back to waiting (idle set so that they are stale again exactly
 * when due, or after one visibility timeout when that is sooner) and the rest are handed out with
 * XCLAIM (delivery counted, fields returned). Entries gone from the stream are reported.
 * When the scan is complete it also says when the next entry can be due: the retry schedule's
 * first, and the first `scan` pending entries other consumers hold (due when idle for the
 * visibility timeout); members of the schedule no longer pending are dropped.
 * With a start id (ARGV[8]), the group is first created when it does not exist (XGROUP CREATE …
 * MKSTREAM; an existing one is fine), before anything is promoted: a cycle that has not made sure of
 * its group saves that round trip. It then also says how many entries a group it created at '$'
 * will never see.
 * With ARGV[9] '1', the stream is a plain topic's whose layout the drain has not read yet: before
 * anything else, the topic's partition count (KEYS[5]) is read, and when one other than 1 is
 * recorded, nothing is done and the count and the declared groups (KEYS[6]) are returned.
 * KEYS: stream, retry schedule, scheduled, scheduled messages, [partition count, declared groups].
 * ARGV: group, consumer, visibilityMs, cursor ('0-0' to start), scan, limit, promote (max to move),
 * [start id ('$' or '0') to create the group, or ''], [layout check '1'].
 * Returns {cursor ('0-0' when complete), claimed {{id, deliveries, fields}…}, deleted {id…},
 * nextDueMs (-1 none/unknown), promoted, nextDeliveryMs (-1 none), skipped (-1: not created here),
 * recorded partition count (false: none or not read), declared groups (when the count is not 1)}.
 */
export const RECLAIM = /* @__PURE__ */ defineScript(
  'sluice-reclaim',
  LUA_NOW,
  LUA_CREATE_GROUP,
  LUA_PROMOTE,
  LUA_CLAIM,
  `
local stream, retry = KEYS[1], KEYS[2]
local group, consumer, visibility = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cursor, scan, limit = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local recorded = false
if ARGV[9] == '1' then
  recorded = redis.call('GET', KEYS[5])
  if recorded and recorded ~= '1' then return {'0-0', {}, {}, -1, 0, -1, -1, recorded, redis.call('SMEMBERS', KEYS[6])} end
end
local start, skipped = ARGV[8] or '', -1
if start ~= '' then
  skipped = createGroup(stream, group, start)
  if type(skipped) == 'table' then return skipped end
end
local at = now()
local promoted, nextDelivery = promote(stream, KEYS[3], KEYS[4], at, tonumber(ARGV[7]))
local page = redis.call('XAUTOCLAIM', stream, group, consumer, visibility, cursor, 'COUNT', limit, 'JUSTID')
local claimed, deleted = {}, {}
-- Most reclaims follow a crash, with nothing failed: then the schedule is not asked entry by entry.
local scheduled = redis.call('EXISTS', retry) == 1
for _, id in ipairs(page[3] or {}) do
  if scheduled then redis.call('ZREM', retry, id) end
  deleted[#deleted + 1] = id
end
for _, id in ipairs(page[2]) do
  local p = redis.call('XPENDING', stream, group, id, id, 1)[1]
  local due = scheduled and tonumber(redis.call('ZSCORE', retry, id))
  if due and due > at then
    -- Not due: stale again when due (or in one visibility timeout, whichever comes first).
    redis.call('XCLAIM', stream, group, consumer, 0, id, 'IDLE', math.max(0, visibility - (due - at)), 'JUSTID')
  elseif p then
    claimDue(stream, retry, group, consumer, id, p[4], due, claimed, deleted)
  end
end
local nextDue = -1
if page[1] == '0-0' then
  local function sooner(wait)
    if wait < 0 then wait = 0 end
    if nextDue < 0 or wait < nextDue then nextDue = math.floor(wait) end
  end
  for _, p in ipairs(redis.call('XPENDING', stream, group, '-', '+', scan)) do
    if p[2] ~= consumer and not (scheduled and redis.call('ZSCORE', retry, p[1])) then sooner(visibility - p[3]) end
  end
  local first = redis.call('ZRANGE', retry, 0, scan - 1, 'WITHSCORES')
  for i = 1, #first, 2 do
    local id, due = first[i], tonumber(first[i + 1])
    if due > at then
      sooner(due - at)
      break
    end
    -- Due, yet not stale: its idle time was reset (taken over) — or it is no longer pending at all.
    local p = redis.call('XPENDING', stream, group, id, id, 1)[1]
    if p then sooner(visibility - p[3]) else redis.call('ZREM', retry, id) end
  end
end
return {page[1], claimed, deleted, nextDue, promoted, nextDelivery, skipped, recorded}
`,
);

/**
 * Reclaim in order (ordered draining): promote due delayed messages, then walk the group's pending
 * list from its oldest entry and claim entries while each is due — by the retry schedule, else once
 * idle for the visibility timeout — stopping at the first that is not, since nothing after it may
 * be handled before it.
 * KEYS: stream, retry schedule, scheduled, scheduled messages.
 * ARGV: group, consumer, visibilityMs, limit, promote (max to move).
 * Returns {waitMs, claimed {{id, deliveries, fields}…}, deleted {id…}, promoted, nextDeliveryMs}
 * where waitMs is -1 when nothing is left pending after the claimed entries, 0 when more may be due
 * (call again), or how long until the oldest entry left becomes due.
 */
export const RECLAIM_ORDERED = /* @__PURE__ */ defineScript(
  'sluice-reclaim-ordered',
  LUA_NOW,
  LUA_PROMOTE,
  LUA_CLAIM,
  `
local stream, retry = KEYS[1], KEYS[2]
local group, consumer = ARGV[1], ARGV[2]
local visibility, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local at = now()
local promoted, nextDelivery = promote(stream, KEYS[3], KEYS[4], at, tonumber(ARGV[5]))
local pending = redis.call('XPENDING', stream, group, '-', '+', limit)
local claimed, deleted = {}, {}
local wait = -1
for _, p in ipairs(pending) do
  local id, idle = p[1], p[3]
  local due = tonumber(redis.call('ZSCORE', retry, id))
  local left = visibility - idle
  if due then left = due - at end
  if left > 0 then
    wait = left
    break
  end
  claimDue(stream, retry, group, consumer, id, p[4], due ~= nil, claimed, deleted)
end
if wait == -1 and #pending == limit then wait = 0 end
return {wait, claimed, deleted, promoted, nextDelivery}
`,
);

/**
 * Only promote due delayed messages (an ordered drain's reads, which reclaim nothing).
 * KEYS: stream, scheduled, scheduled messages. ARGV: limit. Returns {promoted, nextDeliveryMs}.
 */
export const PROMOTE = /* @__PURE__ */ defineScript(
  'sluice-promote',
  LUA_NOW,
  LUA_PROMOTE,
  `
local promoted, nextDelivery = promote(KEYS[1], KEYS[2], KEYS[3], now(), tonumber(ARGV[1]))
return {promoted, nextDelivery}
`,
);

/**
 * Schedule retries of entries this consumer's handlers failed: each is due `delayMs` from now —
 * recorded in the group's retry schedule, and its idle time set so that it is stale exactly then
 * (or after one visibility timeout, when the delay is longer). The delivery count is left alone:
 * the failed attempt counted when it was delivered. Entries no longer this consumer's are skipped.
 * KEYS: stream, retry schedule. ARGV: group, consumer, visibilityMs, ttlMs, then pairs id, delayMs.
 * Returns how many were scheduled.
 */
export const RETRY = /* @__PURE__ */ defineScript(
  'sluice-retry',
  LUA_NOW,
  `
local stream, retry = KEYS[1], KEYS[2]
local group, consumer, visibility = ARGV[1], ARGV[2], tonumber(ARGV[3])
local at = now()
local scheduled = 0
for a = 5, #ARGV, 2 do
  local id, delay = ARGV[a], tonumber(ARGV[a + 1])
  local p = redis.call('XPENDING', stream, group, id, id, 1)[1]
  if p and p[2] == consumer then
    redis.call('XCLAIM', stream, group, consumer, 0, id, 'IDLE', math.max(0, visibility - delay), 'JUSTID')
    redis.call('ZADD', retry, at + delay, id)
    scheduled = scheduled + 1
  end
end
-- An abandoned group's schedule does not outlive its longest delay.
if scheduled > 0 then redis.call('PEXPIRE', retry, ARGV[4]) end
return scheduled
`,
);
