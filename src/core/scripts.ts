/**
 * The Lua scripts. Each one touches the keys of a single topic only (same hash tag), so they stay
 * legal on Redis Cluster, and each is atomic: what a script writes, it writes whole.
 */
import { defineScript } from './driver.js';

/**
 * Publish a batch, honouring idempotency keys.
 * KEYS[1] stream, KEYS[2..] idempotency keys.
 * ARGV: windowMs, count, then per message: keyIndex (0 = none), fieldCount, fields….
 * Returns a flat list: id, duplicate (0/1), id, duplicate, ….
 */
export const PUBLISH = defineScript(
  'sluice-publish',
  `
local window = ARGV[1]
local count = tonumber(ARGV[2])
local out = {}
local a = 3
for i = 1, count do
  local keyIndex = tonumber(ARGV[a])
  local nfields = tonumber(ARGV[a + 1])
  a = a + 2
  local existing = false
  if keyIndex > 0 then existing = redis.call('GET', KEYS[keyIndex]) end
  if existing then
    out[#out + 1] = existing
    out[#out + 1] = 1
  else
    local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, a, a + nfields - 1))
    if keyIndex > 0 then redis.call('SET', KEYS[keyIndex], id, 'PX', window) end
    out[#out + 1] = id
    out[#out + 1] = 0
  end
  a = a + nfields
end
return out
`,
);

/**
 * Reclaim, with back-off: scan the group's pending list for entries idle at least the visibility
 * timeout, and claim those whose idle time also reaches their own redelivery delay,
 * `visibility × 2^(deliveries − 1)` capped at `maxDelay` — so a message that keeps failing waits
 * longer each time, decided from Redis's own idle times and delivery counts, with no timer in any
 * process. Entries deleted from the stream while pending are dropped from the pending list and
 * reported. One round trip per page, delivery counts included.
 * KEYS[1] stream. ARGV: group, consumer, visibilityMs, maxDelayMs, start ('-' or '(<id>'), scan, limit.
 * Returns: {cursor ('0' when the scan is complete), {{id, deliveries, fields}, …}, {deletedId, …}}.
 */
export const RECLAIM = defineScript(
  'sluice-reclaim',
  `
local group, consumer = ARGV[1], ARGV[2]
local visibility, maxDelay = tonumber(ARGV[3]), tonumber(ARGV[4])
local start, scan, limit = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local pending = redis.call('XPENDING', KEYS[1], group, 'IDLE', visibility, start, '+', scan)
local claimed, deleted = {}, {}
local cursor = '0'
for i, p in ipairs(pending) do
  if #claimed >= limit then
    cursor = '(' .. pending[i - 1][1]
    break
  end
  local id, idle, deliveries = p[1], p[3], p[4]
  local delay = math.min(visibility * 2 ^ (deliveries - 1), math.max(maxDelay, visibility))
  if idle >= delay then
    local entry = redis.call('XCLAIM', KEYS[1], group, consumer, 0, id)[1]
    if entry and entry[2] then
      claimed[#claimed + 1] = {id, deliveries + 1, entry[2]}
    else
      -- Gone from the stream (trimmed or XDELed): XCLAIM dropped it from the pending list.
      redis.call('XACK', KEYS[1], group, id)
      deleted[#deleted + 1] = id
    end
  end
end
if cursor == '0' and #pending == scan then cursor = '(' .. pending[#pending][1] end
return {cursor, claimed, deleted}
`,
);

/**
 * Dead-letter entries this consumer still holds: copy each to the group's dead-letter stream, then
 * acknowledge the original, in one atomic step. An entry no longer pending for this consumer
 * (acknowledged or claimed by another meanwhile) is skipped.
 * KEYS[1] stream, KEYS[2] dead-letter stream.
 * ARGV: group, consumer, count, then per entry: id, fieldCount, fields… (the dead-letter fields included).
 * Returns how many were dead-lettered.
 */
export const DEAD_LETTER = defineScript(
  'sluice-dead-letter',
  `
local group, consumer = ARGV[1], ARGV[2]
local count = tonumber(ARGV[3])
local moved = 0
local a = 4
for i = 1, count do
  local id = ARGV[a]
  local nfields = tonumber(ARGV[a + 1])
  local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)
  if p[1] and p[1][2] == consumer then
    redis.call('XADD', KEYS[2], '*', unpack(ARGV, a + 2, a + 1 + nfields))
    redis.call('XACK', KEYS[1], group, id)
    moved = moved + 1
  end
  a = a + 2 + nfields
end
return moved
`,
);

/**
 * Give back entries this consumer read but never handed to the handler (the deadline came first):
 * their delivery count is set back and their idle time set to the visibility timeout, so the next
 * cycle reclaims them at once and no delivery is wasted.
 * KEYS[1] stream. ARGV: group, consumer, idleMs, then pairs id, deliveryCount.
 * Returns how many were released.
 */
export const RELEASE = defineScript(
  'sluice-release',
  `
local group, consumer, idle = ARGV[1], ARGV[2], ARGV[3]
local released = 0
for a = 4, #ARGV, 2 do
  local id = ARGV[a]
  local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)
  if p[1] and p[1][2] == consumer then
    redis.call('XCLAIM', KEYS[1], group, consumer, 0, id, 'IDLE', idle, 'RETRYCOUNT', ARGV[a + 1], 'JUSTID')
    released = released + 1
  end
end
return released
`,
);

/**
 * Tidy a group and measure it. Removes this cycle's consumer and consumers idle for at least
 * ARGV[3] ms — only those holding no pending entries, checked in the same atomic step, so no
 * pending entry is ever orphaned. KEYS[1] stream. ARGV: group, own consumer, idle threshold ms.
 * Returns: removed, consumers left, group pending count, group lag (-1 when Redis cannot tell).
 */
export const TIDY = defineScript(
  'sluice-tidy',
  `
local group, own, threshold = ARGV[1], ARGV[2], tonumber(ARGV[3])
local function field(list, name)
  for i = 1, #list, 2 do
    if list[i] == name then return list[i + 1] end
  end
  return nil
end
local removed, left = 0, 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], group)) do
  local name = field(c, 'name')
  if field(c, 'pending') == 0 and (name == own or field(c, 'idle') >= threshold) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], group, name)
    removed = removed + 1
  else
    left = left + 1
  end
end
local pending, lag = 0, -1
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  if field(g, 'name') == group then
    pending = field(g, 'pending') or 0
    local l = field(g, 'lag')
    if type(l) == 'number' then lag = l end
  end
end
return {removed, left, pending, lag}
`,
);
