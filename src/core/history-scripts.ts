/**
 * The drain history's scripts: one records a cycle's report (one call per cycle, whatever it did;
 * a cycle that tidies records it in its tidy script instead, `cycle-scripts.ts`), the other reads a
 * stream's history for every group (one call per stream). Both touch the keys of one stream only
 * (one hash tag: legal on Redis Cluster).
 *
 * A group's history is two keys (`keys.ts`):
 *
 * - `…:history:<group>`, a hash used as a ring of per-minute buckets: field `minute mod 1440`, value
 *   `"<minute> <acked> <failed> <deadLettered> <read> <reclaimed> <cycles> <errors> <busyMs>"`
 *   (minute: ms since the epoch / 60000). A bucket holding another minute is stale and is started
 *   over when written, ignored when read: the hash never has more than 1440 fields, whatever the
 *   rate of drains, and nothing ever needs pruning.
 * - `…:reports:<group>`, a list of the last reports, newest first: `"<endedAtMs> <report JSON>"`.
 *
 * Both expire an hour after the last drain's day is over, so a group no longer drained leaves nothing.
 */
import { defineScript } from './driver.js';
import { LUA_IDS } from './stream-ids.js';

/** Minutes a group's history covers (the ring's size). */
export const HISTORY_MINUTES = 1_440;
/** Reports kept per group (and stream). */
export const HISTORY_REPORTS = 50;
/** The counts of a bucket, in the order the bucket's value holds them after its minute. */
export const BUCKET_COUNTS = [
  'acked',
  'failed',
  'deadLettered',
  'read',
  'reclaimed',
  'cycles',
  'errors',
  'busyMs',
] as const;

/**
 * Record one cycle, as a Lua function `record(historyKey, reportsKey, durationMs, errored, reportJson,
 * counts, kept, minutes)` (counts: acked, failed, deadLettered, read, reclaimed) shared by
 * {@link RECORD_DRAIN} and the tidy script (`cycle-scripts.ts`), which records the cycle it tidies.
 * Its counts are spread over the minutes it ran, in proportion to the time it ran in each (a
 * cycle's counts are known only at its end; a 50 s cycle would otherwise put them all in one
 * minute); its `cycles` and `errors` count in the minute it ended. Returns the time recorded
 * (Redis's clock, ms).
 */
export const RECORD_LUA = `
local function record(historyKey, reportsKey, durationMs, errored, reportJson, counts, kept, minutes)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local duration = math.max(0, math.floor(tonumber(durationMs) or 0))
local startMs = now - duration
local last = math.floor(now / 60000)
local first = math.max(math.floor(startMs / 60000), last - minutes + 1)
local given = {0, 0, 0, 0, 0}
for m = first, last do
  local from, to = math.max(startMs, m * 60000), math.min(now, m * 60000 + 60000)
  local share = 1
  if m < last and duration > 0 then share = (to - startMs) / duration end
  local slot = tostring(m % minutes)
  local b = {}
  local old = redis.call('HGET', historyKey, slot)
  if old then
    for n in string.gmatch(old, '%S+') do b[#b + 1] = tonumber(n) end
  end
  if b[1] ~= m or #b ~= 9 then b = {m, 0, 0, 0, 0, 0, 0, 0, 0} end
  for i = 1, 5 do
    local upTo = math.floor(counts[i] * share + 0.5)
    b[i + 1] = b[i + 1] + upTo - given[i]
    given[i] = upTo
  end
  if m == last then
    b[7] = b[7] + 1
    b[8] = b[8] + errored
  end
  b[9] = b[9] + math.max(0, to - from)
  redis.call('HSET', historyKey, slot, table.concat(b, ' '))
end
redis.call('LPUSH', reportsKey, now .. ' ' .. reportJson)
redis.call('LTRIM', reportsKey, 0, kept - 1)
local ttl = minutes * 60000 + 3600000
redis.call('PEXPIRE', historyKey, ttl)
redis.call('PEXPIRE', reportsKey, ttl)
return now
end
`;

/**
 * Record one cycle's report ({@link RECORD_LUA}): a report no tidy script recorded (a cycle that
 * ended before it tidied, an invocation that failed before any cycle, a tidy that failed).
 * KEYS[1] the group's history hash, KEYS[2] its reports list.
 * ARGV: durationMs, errored (1/0), report JSON, acked, failed, deadLettered, read, reclaimed,
 * reports kept, minutes kept. Returns the time recorded (Redis's clock, ms).
 */
export const RECORD_DRAIN = /* @__PURE__ */ defineScript(
  'sluice-record-drain',
  RECORD_LUA,
  `
local counts = {tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])}
return record(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), ARGV[3], counts, tonumber(ARGV[9]), tonumber(ARGV[10]))
`,
);

/**
 * Read a stream's drain history, for every group (or one).
 * KEYS[1] stream. ARGV: history key prefix, reports key prefix, drains key prefix (the group name
 * completes each; all in the stream's slot), reports to read, group ('' for every group).
 * Returns `{nowMs, {{group, historyFieldsAndValues, reports, drainsRegistered,
 * {{consumer, pending, idleMs}, …}}, …}}`; no groups when the stream does not exist.
 */
export const READ_HISTORY = /* @__PURE__ */ defineScript(
  'sluice-read-history',
  LUA_IDS,
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('EXISTS', KEYS[1]) == 0 then return {now, {}} end
local out = {}
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name = field(g, 'name')
  if ARGV[5] == '' or ARGV[5] == name then
    local consumers = {}
    for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], name)) do
      consumers[#consumers + 1] = {field(c, 'name'), field(c, 'pending'), field(c, 'idle')}
    end
    out[#out + 1] = {
      name,
      redis.call('HGETALL', ARGV[1] .. name),
      redis.call('LRANGE', ARGV[2] .. name, 0, tonumber(ARGV[4]) - 1),
      redis.call('ZCOUNT', ARGV[3] .. name, now, '+inf'),
      consumers,
    }
  end
end
return {now, out}
`,
);
