/**
 * The Lua scripts of topics and publishing: publish, declare a topic, create groups, leases. The
 * drain cycle's scripts are in `cycle-scripts.ts`. Each one touches the keys of a single topic only
 * (same hash tag), so they stay legal on Redis Cluster, and each is atomic: what a script writes,
 * it writes whole.
 */
import { defineScript } from './driver.js';
import { LUA_CREATE_GROUP, LUA_PROMOTE } from './schedule-scripts.js';
import { LUA_WAKE_IF_NONE } from './wake-scripts.js';

/**
 * Publish a batch, honouring idempotency keys and delays.
 * KEYS[1] stream, KEYS[2] the scheduled set, KEYS[3] the scheduled messages' hash, KEYS[4..]
 * idempotency keys.
 * ARGV: windowMs, count, then per message: keyIndex (0 = none), schedule, fieldCount, fields….
 * schedule is '' (at once), '+<ms>:<token>' (after ms by Redis's clock) or '@<ms>:<token>' (at that
 * epoch ms; at once when past); a delayed message's one field is its fields as a JSON array.
 * A delayed message is kept as schedule id `s-<due ms>-<token>`: scored by its due time in KEYS[2],
 * its JSON fields under that id in KEYS[3], until a drain — or a later run of this script, which
 * first moves up to 100 due ones — moves it into the stream.
 * Returns a flat list: id (or schedule id), duplicate (0/1), id, duplicate, …; with wakes asked for
 * (ARGV after the messages: wakeMs, the index of the first drains key, a drain id per drains key,
 * KEYS after the idempotency keys: the drains of each group to wake), then a list: per group, the
 * drain id to wake, or '' (nothing readable was written, or a drain of the group is live).
 */
export const PUBLISH = /* @__PURE__ */ defineScript(
  'sluice-publish',
  LUA_PROMOTE,
  LUA_WAKE_IF_NONE,
  `
local window = ARGV[1]
local count = tonumber(ARGV[2])
local now = false
local function clock()
  if not now then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now
end
-- Due delayed messages go first (a few; drains move the rest): they were meant to be there already.
local promoted = promote(KEYS[1], KEYS[2], KEYS[3], clock(), 100)
local written = promoted > 0
local out = {}
local a = 3
for i = 1, count do
  local keyIndex = tonumber(ARGV[a])
  local schedule = ARGV[a + 1]
  local nfields = tonumber(ARGV[a + 2])
  a = a + 3
  local existing = false
  if keyIndex > 0 then existing = redis.call('GET', KEYS[keyIndex]) end
  if existing then
    out[#out + 1] = existing
    out[#out + 1] = 1
  else
    local id
    if schedule == '' then
      id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, a, a + nfields - 1))
      written = true
    else
      local mode, ms, token = string.match(schedule, '^([+@])(%d+):(.+)$')
      local due = tonumber(ms)
      if mode == '+' then due = clock() + due end
      if due <= clock() then
        id = redis.call('XADD', KEYS[1], '*', unpack(cjson.decode(ARGV[a])))
        written = true
      else
        local score = string.format('%.0f', due)
        id = 's-' .. score .. '-' .. token
        redis.call('ZADD', KEYS[2], score, id)
        redis.call('HSET', KEYS[3], id, ARGV[a])
      end
    end
    if keyIndex > 0 then redis.call('SET', KEYS[keyIndex], id, 'PX', window) end
    out[#out + 1] = id
    out[#out + 1] = 0
  end
  a = a + nfields
end
-- Wakes (event-driven draining): ARGV after the messages: wakeMs, first wake key, then one drain id
-- per wake key. A group's drain is woken when this wrote something readable and none is live.
if ARGV[a] then
  local wakeMs, first = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local woken = {}
  for k = first, #KEYS do
    woken[#woken + 1] = written and wakeIfNone(KEYS[k], ARGV[a + 2 + k - first], wakeMs, clock()) or ''
  end
  out[#out + 1] = woken
end
return out
`,
);

/**
 * Read — and, when asked, record — a topic's partition count and its declared consumer groups.
 * KEYS[1] the count key, KEYS[2] the plain topic's stream, KEYS[3] the declared-groups set (one hash tag).
 * ARGV: requested count (0 = only read), then groups to declare.
 * Returns {count, {group, …}}: the recorded count — 0 when none is recorded and none was asked, -1
 * when a count above 1 was asked of a topic that already has a plain stream (nothing is declared
 * then) — and every group declared for the topic.
 */
export const DECLARE_TOPIC = /* @__PURE__ */ defineScript(
  'sluice-declare-topic',
  `
local function declared(count)
  if #ARGV > 1 then redis.call('SADD', KEYS[3], unpack(ARGV, 2)) end
  return {count, redis.call('SMEMBERS', KEYS[3])}
end
local recorded = redis.call('GET', KEYS[1])
if recorded then
  local count = tonumber(recorded)
  if not count or count < 1 or count % 1 ~= 0 then
    return redis.error_reply('SLUICE_LAYOUT ' .. KEYS[1] .. ' holds ' .. recorded .. ', not a partition count')
  end
  return declared(count)
end
local requested = tonumber(ARGV[1])
if requested == 0 then return declared(0) end
if requested > 1 and redis.call('EXISTS', KEYS[2]) == 1 then return {-1, {}} end
redis.call('SET', KEYS[1], requested)
return declared(requested)
`,
);

/**
 * Create consumer groups on a stream (creating the stream if needed), saying what each skipped.
 * KEYS[1] stream. ARGV: start id ('$' or '0'), then group names.
 * Returns one number per group: -1 when it already existed, else how many entries the stream held
 * that a group created at '$' will never see (0 for '0', or for a new stream).
 */
export const CREATE_GROUPS = /* @__PURE__ */ defineScript(
  'sluice-create-groups',
  LUA_CREATE_GROUP,
  `
local out = {}
for i = 2, #ARGV do
  local skipped = createGroup(KEYS[1], ARGV[i], ARGV[1])
  if type(skipped) == 'table' then return skipped end
  out[#out + 1] = skipped
end
return out
`,
);

/**
 * A partition's lease (ordered draining: one active consumer per partition and group).
 * KEYS[1] the lease key. ARGV: operation, the holder's token, ttlMs.
 * take: takes the lease when free or already this holder's, and sets its expiry.
 * renew: sets its expiry only while this holder still has it (a lapsed lease is not silently re-taken).
 * release: deletes it only while this holder still has it.
 * Returns 1 when done, 0 when another holds the lease (or, to renew or release, nobody does).
 */
export const LEASE = /* @__PURE__ */ defineScript(
  'sluice-lease',
  `
local holder = redis.call('GET', KEYS[1])
local op = ARGV[1]
if op == 'take' then
  if holder and holder ~= ARGV[2] then return 0 end
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if holder ~= ARGV[2] then return 0 end
if op == 'renew' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('DEL', KEYS[1])
end
return 1
`,
);
