/**
 * The Lua scripts of event-driven draining. A group's drains on a stream — running, or woken and
 * starting — are members of one sorted set (`…:drains:<group>`) scored by when each expires unless
 * its owner renews or removes it: a drain that dies is forgotten once its deadline is past, with no
 * timer anywhere. Every decision to wake a drain is taken in one of these scripts (or the publish
 * script's tail), atomically with what it decides on, so wakes cannot storm:
 *
 * - a publish wakes a drain only when the set has no live member, and adds the one it wakes;
 * - a drain starting (`PROBE`) ends at once when there is nothing to do, else joins the set;
 * - a drain finishing (`FINISH`) leaves the set and, when work is left and no other drain is live,
 *   adds and wakes its successor — so a message published while it was finishing (no wake then: it
 *   was live) is not left for the next scheduled tick;
 * - a drain with more backlog than it can finish (`FAN_OUT`) adds and wakes more, up to a limit.
 */
import { defineScript } from './driver.js';
import { RECORD_LUA } from './history-scripts.js';
import { LUA_NOW } from './schedule-scripts.js';

/**
 * `work(stream, group, visibility, scheduled, at)`: what there is to do for a group, in one look:
 * its lag (-1 unknown), whether a pending entry is stale (its consumer died, or a retry is due),
 * whether a delayed message is due. Returns lag, stale (0/1), dueDelayed (0/1); raises NOGROUP.
 */
const LUA_WORK = `
local function work(stream, group, visibility, scheduled, at)
  local lag = -1
  local found = false
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local name, l = nil, nil
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'lag' then l = g[i + 1] end
    end
    if name == group then
      found = true
      if type(l) == 'number' then lag = l end
    end
  end
  if not found then return redis.error_reply('NOGROUP no such consumer group') end
  local stale = #redis.call('XPENDING', stream, group, 'IDLE', visibility, '-', '+', 1) > 0
  local due = #redis.call('ZRANGEBYSCORE', scheduled, '-inf', at, 'LIMIT', 0, 1) > 0
  return lag, stale and 1 or 0, due and 1 or 0
end
`;

/**
 * A drain starts: drop expired members; if the group has nothing to do (no lag, nothing stale,
 * no delayed message due) or `limit` drains are live already, it ends at once — and, if it had been
 * woken under `id`, leaves the set — and its report is recorded in the group's history
 * (`history-scripts.ts`; a failure to record is returned, not raised). Else it joins the set as
 * `id`, live until `expiresAt`.
 * With ARGV[6] '1', the stream is a plain topic's whose layout the drain has not read yet: first of
 * all, the topic's partition count (KEYS[6]) is read, and when one other than 1 is recorded, nothing
 * is done ('layout') and the declared groups (KEYS[7]) are returned with it.
 * KEYS: stream, drains, scheduled, the group's history hash, its reports list, [partition count,
 * declared groups]. ARGV: group, id, expiresInMs, visibilityMs, limit, layout check ('1' / '0'), then
 * the report of the cycle as it ends here, as `RECORD_DRAIN` takes it: durationMs, errored (1/0),
 * report JSON, acked, failed, deadLettered, read, reclaimed, reports kept, minutes kept.
 * Returns {verdict ('run' | 'idle' | 'full' | 'layout'), lag (-1 unknown), live drains (itself
 * included), recorded partition count (false: none or not read), why the report could not be
 * recorded ('' when it was or was not to be), declared groups (on 'layout')}.
 * A missing stream or group answers 'run': the drain's own first steps create them.
 */
export const PROBE = /* @__PURE__ */ defineScript(
  'sluice-probe',
  LUA_NOW,
  LUA_WORK,
  RECORD_LUA,
  `
local stream, drains = KEYS[1], KEYS[2]
local group, id = ARGV[1], ARGV[2]
local recorded = false
if ARGV[6] == '1' then
  recorded = redis.call('GET', KEYS[6])
  if recorded and recorded ~= '1' then return {'layout', -1, 0, recorded, '', redis.call('SMEMBERS', KEYS[7])} end
end
local function ends(verdict, lag, live)
  redis.call('ZREM', drains, id)
  local counts = {tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14])}
  local ok, failure = pcall(record, KEYS[4], KEYS[5], ARGV[7], tonumber(ARGV[8]), ARGV[9], counts,
    tonumber(ARGV[15]), tonumber(ARGV[16]))
  local unrecorded = ''
  if not ok then unrecorded = type(failure) == 'table' and tostring(failure.err) or tostring(failure) end
  return {verdict, lag, live, recorded, unrecorded}
end
local at = now()
redis.call('ZREMRANGEBYSCORE', drains, '-inf', at)
if redis.call('EXISTS', stream) == 0 then return {'run', -1, 1, recorded, ''} end
local ok, lag, stale, due = pcall(work, stream, group, tonumber(ARGV[4]), KEYS[3], at)
if not ok or type(lag) == 'table' then return {'run', -1, 1, recorded, ''} end
local others = redis.call('ZCARD', drains) - (redis.call('ZSCORE', drains, id) and 1 or 0)
if lag == 0 and stale == 0 and due == 0 then return ends('idle', 0, others) end
if others >= tonumber(ARGV[5]) then return ends('full', lag, others) end
redis.call('ZADD', drains, at + tonumber(ARGV[3]), id)
redis.call('PEXPIRE', drains, tonumber(ARGV[3]) + 60000)
return {'run', lag, others + 1, recorded, ''}
`,
);

/**
 * A drain finishes: it leaves the set; when the group has work left (lag, a stale entry, a delayed
 * message due) and no other drain is live, it adds a successor under `successorId`, live for
 * `wakeMs` (to be woken by the caller).
 * KEYS: stream, drains, scheduled. ARGV: group, id, successorId, wakeMs, visibilityMs.
 * Returns {successor id or '', lag (-1 unknown)}.
 */
export const FINISH = /* @__PURE__ */ defineScript(
  'sluice-finish',
  LUA_NOW,
  LUA_WORK,
  `
local stream, drains = KEYS[1], KEYS[2]
local group, id, successor = ARGV[1], ARGV[2], ARGV[3]
local at = now()
redis.call('ZREM', drains, id)
redis.call('ZREMRANGEBYSCORE', drains, '-inf', at)
local ok, lag, stale, due = pcall(work, stream, group, tonumber(ARGV[5]), KEYS[3], at)
if not ok or type(lag) == 'table' then return {'', -1} end
if (lag ~= 0 or stale == 1 or due == 1) and redis.call('ZCARD', drains) == 0 then
  redis.call('ZADD', drains, at + tonumber(ARGV[4]), successor)
  redis.call('PEXPIRE', drains, tonumber(ARGV[4]) + 60000)
  return {successor, lag}
end
return {'', lag}
`,
);

/**
 * A drain asks for helpers: members added (each live for `wakeMs`, to be woken by the caller) until
 * `wanted` drains are live, itself and others included. KEYS: drains. ARGV: wanted, wakeMs, id…
 * Returns the ids added.
 */
export const FAN_OUT = /* @__PURE__ */ defineScript(
  'sluice-fan-out',
  LUA_NOW,
  `
local at = now()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', at)
local room = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
local added = {}
for a = 3, #ARGV do
  if #added >= room then break end
  redis.call('ZADD', KEYS[1], at + tonumber(ARGV[2]), ARGV[a])
  added[#added + 1] = ARGV[a]
end
if #added > 0 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 60000) end
return added
`,
);

/**
 * `wakeIfNone(drains, id, wakeMs, at)`, for the publish script's tail: when no drain of the group
 * is live, adds `id` (live for `wakeMs`) and returns it; else returns ''.
 */
export const LUA_WAKE_IF_NONE = `
local function wakeIfNone(drains, id, wakeMs, at)
  redis.call('ZREMRANGEBYSCORE', drains, '-inf', at)
  if redis.call('ZCARD', drains) > 0 then return '' end
  redis.call('ZADD', drains, at + wakeMs, id)
  redis.call('PEXPIRE', drains, wakeMs + 60000)
  return id
end
`;
