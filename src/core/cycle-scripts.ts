/**
 * The Lua scripts of the drain cycle: dead-letter, release, touch (hold), tidy. Reclaim, retries
 * and delayed messages — the scripts of time — are in `schedule-scripts.ts`. Like every sluice script, each touches the keys of one topic only (one hash
 * tag: legal on Redis Cluster) and is atomic.
 */
import { defineScript } from './driver.js';
import { RECORD_LUA } from './history-scripts.js';
import { LUA_IDS } from './stream-ids.js';

/**
 * Dead-letter entries this consumer still holds: copy each to the group's dead-letter stream, then
 * acknowledge the original (and drop it from the retry schedule), in one atomic step. An entry no
 * longer pending for this consumer (acknowledged or claimed by another meanwhile) is skipped.
 * KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] the group's retry schedule.
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
    redis.call('ZREM', KEYS[3], id)
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
 * Tidy a group, keep the stream bounded, measure the group, and record the cycle in the group's
 * history — one atomic step, one round trip at the end of a cycle.
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
 * History: the cycle's report, given as a JSON object without what this script measures, is
 * completed with it and recorded (`history-scripts.ts`); a failure to record (a key of another
 * type) is returned, not raised: the tidying stands.
 *
 * KEYS[1] stream, KEYS[2] the group's history hash, KEYS[3] its reports list. ARGV: group, own
 * consumer, idle threshold ms, trim (1/0), retentionMs, maxLength (0 = none), now ms, then
 * `RECORD_DRAIN`'s: durationMs, errored (1/0), report JSON, acked, failed,
 * deadLettered, read, reclaimed, reports kept, minutes kept.
 * Returns: removed, consumers left, group pending, group lag (-1 unknown), trimmed, dropped
 * unconsumed, why the report could not be recorded ('' when it was).
 */
export const TIDY = /* @__PURE__ */ defineScript(
  'sluice-tidy',
  LUA_IDS,
  RECORD_LUA,
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

local measured = ',"consumersRemoved":' .. removed .. ',"trimmed":' .. trimmed .. ',"droppedUnconsumed":' .. dropped
  .. ',"lag":' .. (lag < 0 and 'null' or lag) .. ',"pending":' .. pending .. '}'
local counts = {tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])}
local ok, failure = pcall(record, KEYS[2], KEYS[3], ARGV[8], tonumber(ARGV[9]),
  string.sub(ARGV[10], 1, -2) .. measured, counts, tonumber(ARGV[16]), tonumber(ARGV[17]))
local unrecorded = ''
if not ok then unrecorded = type(failure) == 'table' and tostring(failure.err) or tostring(failure) end
return {removed, left, pending, lag, trimmed, dropped, unrecorded}
`,
);
