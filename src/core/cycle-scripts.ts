/**
 * The Lua scripts of the drain cycle: reclaim (in any order, and in order), dead-letter, release,
 * touch (hold), tidy. Like every sluice script, each touches the keys of one topic only (one hash
 * tag: legal on Redis Cluster) and is atomic.
 */
import { defineScript } from './driver.js';
import { LUA_IDS } from './stream-ids.js';

/**
 * Reclaim, with back-off: scan the group's pending list for entries idle at least the visibility
 * timeout, and claim those whose idle time also reaches their own redelivery delay,
 * `visibility × 2^(deliveries − 1)` capped at `maxDelay` — so a message that keeps failing waits
 * longer each time, decided from Redis's own idle times and delivery counts, with no timer in any
 * process. Entries deleted from the stream while pending are dropped from the pending list and
 * reported. One round trip per page, delivery counts included.
 * When the scan is complete, it also looks at the first `scan` pending entries other consumers hold
 * and says in how many ms the first of them can be due, so that a long cycle knows when to reclaim
 * again (-1: none).
 * KEYS[1] stream. ARGV: group, consumer, visibilityMs, maxDelayMs, start ('-' or '(<id>'), scan, limit.
 * Returns: {cursor ('0' when the scan is complete), {{id, deliveries, fields}, …}, {deletedId, …}, nextDueMs}.
 */
export const RECLAIM = /* @__PURE__ */ defineScript(
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
local nextDue = -1
if cursor == '0' then
  for _, p in ipairs(redis.call('XPENDING', KEYS[1], group, '-', '+', scan)) do
    if p[2] ~= consumer then
      local wait = math.min(visibility * 2 ^ (p[4] - 1), math.max(maxDelay, visibility)) - p[3]
      if wait < 0 then wait = 0 end
      if nextDue < 0 or wait < nextDue then nextDue = math.floor(wait) end
    end
  end
end
return {cursor, claimed, deleted, nextDue}
`,
);

/**
 * Dead-letter entries this consumer still holds: copy each to the group's dead-letter stream, then
 * acknowledge the original, in one atomic step. An entry no longer pending for this consumer
 * (acknowledged or claimed by another meanwhile) is skipped.
 * KEYS[1] stream, KEYS[2] dead-letter stream.
 * ARGV: group, consumer, count, then per entry: id, fieldCount, fields… (the dead-letter fields included).
 * Returns the ids dead-lettered.
 */
export const DEAD_LETTER = /* @__PURE__ */ defineScript(
  'sluice-dead-letter',
  `
local group, consumer = ARGV[1], ARGV[2]
local count = tonumber(ARGV[3])
local moved = {}
local a = 4
for i = 1, count do
  local id = ARGV[a]
  local nfields = tonumber(ARGV[a + 1])
  local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)
  if p[1] and p[1][2] == consumer then
    redis.call('XADD', KEYS[2], '*', unpack(ARGV, a + 2, a + 1 + nfields))
    redis.call('XACK', KEYS[1], group, id)
    moved[#moved + 1] = id
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
export const RELEASE = /* @__PURE__ */ defineScript(
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
 * Keep hold of a batch: entries this consumer still holds get their idle time reset (`XCLAIM …
 * JUSTID` leaves the delivery count alone), so a long batch is not taken over by another cycle
 * while its last messages wait their turn. KEYS[1] stream. ARGV: group, consumer, id….
 * Returns the ids that are no longer this consumer's (taken over or acknowledged meanwhile).
 */
export const TOUCH = /* @__PURE__ */ defineScript(
  'sluice-touch',
  `
local group, consumer = ARGV[1], ARGV[2]
local lost = {}
for a = 3, #ARGV do
  local id = ARGV[a]
  local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)
  if p[1] and p[1][2] == consumer then
    redis.call('XCLAIM', KEYS[1], group, consumer, 0, id, 'JUSTID')
  else
    lost[#lost + 1] = id
  end
end
return lost
`,
);

/**
 * Tidy a group, keep the stream bounded, and measure the group — one atomic step.
 *
 * Consumers: removes this cycle's consumer and consumers idle for at least the threshold, only
 * those holding no pending entries, so no pending entry is ever orphaned.
 *
 * Retention: trims (`XTRIM MINID ~`) only below the oldest entry some group of the stream still
 * needs — its oldest pending entry, else the entry after its last-delivered id — and below
 * `now − retentionMs`, so acknowledged history stays replayable for that long. Nothing any group
 * has not read and acknowledged is ever trimmed by this. The optional hard cap (`maxLength`) may
 * drop unconsumed entries; it counts how many, so the drain can say so loudly.
 *
 * KEYS[1] stream. ARGV: group, own consumer, idle threshold ms, trim (1/0), retentionMs, maxLength
 * (0 = none), now ms.
 * Returns: removed, consumers left, group pending, group lag (-1 unknown), trimmed, dropped unconsumed.
 */
export const TIDY = /* @__PURE__ */ defineScript(
  'sluice-tidy',
  LUA_IDS,
  `
local group, own, threshold = ARGV[1], ARGV[2], tonumber(ARGV[3])
local trim, retention, maxLength, now = ARGV[4] == '1', tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])

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

local pending, lag, needed = 0, -1, nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name, held = field(g, 'name'), field(g, 'pending')
  if name == group then
    pending = held or 0
    local l = field(g, 'lag')
    if type(l) == 'number' then lag = l end
  end
  local first
  if held > 0 then
    first = redis.call('XPENDING', KEYS[1], name)[2]
  else
    first = successor(field(g, 'last-delivered-id'))
  end
  if needed == nil or older(first, needed) then needed = first end
end

local trimmed, dropped = 0, 0
-- A stream without groups is left alone: a group created later may want its history.
if needed ~= nil then
  if trim then
    local cutoff = math.max(0, now - retention) .. '-0'
    local floor = needed
    if older(cutoff, floor) then floor = cutoff end
    trimmed = redis.call('XTRIM', KEYS[1], 'MINID', '~', floor)
  end
  if maxLength > 0 then
    local excess = redis.call('XLEN', KEYS[1]) - maxLength
    if excess > 0 then
      -- Of the entries the cap drops (the oldest), those from the needed one on were unconsumed.
      local consumed = #redis.call('XRANGE', KEYS[1], '-', '(' .. needed, 'COUNT', excess)
      redis.call('XTRIM', KEYS[1], 'MAXLEN', '=', maxLength)
      trimmed = trimmed + consumed
      dropped = excess - consumed
    end
  end
end
return {removed, left, pending, lag, trimmed, dropped}
`,
);

/**
 * Reclaim in order (ordered draining): walk the group's pending list from its oldest entry and
 * claim entries while each is due (idle for its redelivery delay, as in RECLAIM); stop at the first
 * that is not, since nothing after it may be handled before it.
 * KEYS[1] stream. ARGV: group, consumer, visibilityMs, maxDelayMs, limit.
 * Returns: {waitMs, {{id, deliveries, fields}, …}, {deletedId, …}} where waitMs is -1 when nothing
 * is left pending after the claimed entries, 0 when more may be due (call again), or how long until
 * the oldest entry left becomes due.
 */
export const RECLAIM_ORDERED = /* @__PURE__ */ defineScript(
  'sluice-reclaim-ordered',
  `
local group, consumer = ARGV[1], ARGV[2]
local visibility, maxDelay, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local pending = redis.call('XPENDING', KEYS[1], group, '-', '+', limit)
local claimed, deleted = {}, {}
local wait = -1
for _, p in ipairs(pending) do
  local id, idle, deliveries = p[1], p[3], p[4]
  local delay = math.min(visibility * 2 ^ (deliveries - 1), math.max(maxDelay, visibility))
  if idle < delay then
    wait = delay - idle
    break
  end
  local entry = redis.call('XCLAIM', KEYS[1], group, consumer, 0, id)[1]
  if entry and entry[2] then
    claimed[#claimed + 1] = {id, deliveries + 1, entry[2]}
  else
    redis.call('XACK', KEYS[1], group, id)
    deleted[#deleted + 1] = id
  end
end
if wait == -1 and #pending == limit then wait = 0 end
return {wait, claimed, deleted}
`,
);
