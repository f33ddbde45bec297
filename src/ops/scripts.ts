/**
 * The Lua scripts of the operations (stats, dead letters, redrive, replay, tail). Like the drain's,
 * each touches the keys of a single topic only (one hash tag, one slot) and is atomic. Stream ids
 * are compared as decimal strings (`core/stream-ids.ts`).
 */
import { DEAD_LETTER_FIELDS } from '../consume/dead-letters.js';
import { defineScript } from '../core/driver.js';
import { LUA_IDS } from '../core/stream-ids.js';

const HELPERS = `${LUA_IDS}
-- The XINFO GROUPS row of one group, or nil (no such group, or no such stream).
local function groupInfo(stream, group)
  if redis.call('EXISTS', stream) == 0 then return nil end
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    if field(g, 'name') == group then return g end
  end
  return nil
end
local function noGroup(stream, group)
  return redis.error_reply('NOGROUP the stream ' .. stream .. ' has no consumer group ' .. group)
end
`;

/**
 * Measure a stream and each of its groups.
 * KEYS[1] stream, KEYS[2] its scheduled (delayed) messages' sorted set. ARGV: dead-letter key
 * prefix (`sluice:{tag}:dlq:`, the stream's slot; the group name completes each key), lag count limit.
 * Returns `{nowMs, 0, scheduled}` when the stream does not exist, else
 * `{nowMs, 1, length, firstId|nil, lastId|nil, lastGeneratedId, {{name, consumers, pending,
 * lastDeliveredId, entriesRead|nil, lag|nil, oldestPendingId|nil, oldestPendingIdleMs|nil, deadLetters}, …},
 * scheduled}`, where scheduled is `{count, nextDueMs|nil}`.
 * The lag is Redis's own (7.0+), or when Redis cannot tell, counted up to the limit (nil past it).
 */
export const STATS = /* @__PURE__ */ defineScript(
  'sluice-ops-stats',
  HELPERS,
  `
local prefix, limit = ARGV[1], tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local scheduled = {redis.call('ZCARD', KEYS[2]), redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2] or false}
if redis.call('EXISTS', KEYS[1]) == 0 then return {now, 0, scheduled} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local first, last = field(info, 'first-entry'), field(info, 'last-entry')
local groups = {}
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name, pending, delivered = field(g, 'name'), field(g, 'pending'), field(g, 'last-delivered-id')
  local lag = field(g, 'lag')
  if type(lag) ~= 'number' then
    local unread = #redis.call('XRANGE', KEYS[1], '(' .. delivered, '+', 'COUNT', limit + 1)
    if unread <= limit then lag = unread else lag = false end
  end
  local oldest, idle = false, false
  if pending > 0 then
    local p = redis.call('XPENDING', KEYS[1], name, '-', '+', 1)[1]
    if p then oldest, idle = p[1], p[3] end
  end
  groups[#groups + 1] = {
    name, field(g, 'consumers'), pending, delivered, field(g, 'entries-read') or false, lag, oldest, idle,
    redis.call('XLEN', prefix .. name),
  }
end
return {now, 1, field(info, 'length'), first and first[1] or false, last and last[1] or false,
  field(info, 'last-generated-id'), groups, scheduled}
`,
);

/**
 * A page of a stream, and its length.
 * KEYS[1] stream. ARGV: start, end, count, and `rev` for newest first (then start is the newer
 * bound: XREVRANGE). Returns `{length, entries}`.
 */
export const RANGE = /* @__PURE__ */ defineScript(
  'sluice-ops-range',
  `
local command = ARGV[4] == 'rev' and 'XREVRANGE' or 'XRANGE'
return {redis.call('XLEN', KEYS[1]), redis.call(command, KEYS[1], ARGV[1], ARGV[2], 'COUNT', ARGV[3])}
`,
);

/** KEYS[1] stream. Returns its last generated id, `0-0` when it does not exist. */
export const LAST_ID = /* @__PURE__ */ defineScript(
  'sluice-ops-last-id',
  HELPERS,
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return '0-0' end
return field(redis.call('XINFO', 'STREAM', KEYS[1]), 'last-generated-id')
`,
);

const STAMPS = Object.values(DEAD_LETTER_FIELDS)
  .map((name) => `['${name}'] = true`)
  .join(', ');

/**
 * Redrive dead letters to the group that dead-lettered them, and to no other group.
 *
 * For each dead letter, atomically:
 * - its source entry is still in the stream and the group has read past it → the entry goes back
 *   into the group's pending list (`XCLAIM … FORCE`, delivery count 0, idle since the epoch): the
 *   next drain cycle's reclaim phase delivers it again, same id, with a fresh delivery count. No
 *   other group sees anything: nothing is added to the stream. (`pending`)
 * - its source entry is still there but the group has not read it yet (its position was reset by
 *   a replay) → the group will read it anyway: only the dead letter is removed. (`unread`)
 * - its source entry was trimmed → the original fields are appended as a new entry, but only when
 *   every other group has already read the whole stream: those groups are then moved past the new
 *   entry (`XGROUP SETID`, entries-read kept exact), so only this group reads it. (`appended`)
 *   When some other group still has unread entries it cannot be skipped over just that one: the
 *   dead letter stays, and the groups behind are named. (`blocked`)
 * The dead letter is deleted in the same step as its redelivery is arranged. A dry run decides the
 * same way and writes nothing.
 *
 * KEYS[1] stream, KEYS[2] the group's dead-letter stream.
 * ARGV: group, consumer, dry run (1/0), then dead-letter ids.
 * Returns per id `{id, outcome, sourceId|nil, newId|nil, groupsBehind|nil}`; outcomes as above, or
 * `missing` (no such dead letter), `invalid` (no source id, or no original fields).
 */
export const REDRIVE = /* @__PURE__ */ defineScript(
  'sluice-ops-redrive',
  HELPERS,
  `
local group, consumer, dry = ARGV[1], ARGV[2], ARGV[3] == '1'
local stamps = {${STAMPS}}
local own = groupInfo(KEYS[1], group)
if not own then return noGroup(KEYS[1], group) end
local t = redis.call('TIME')
local epochIdle = tonumber(t[1]) * 1000
local out = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local entry = redis.call('XRANGE', KEYS[2], id, id)[1]
  if not entry then
    out[#out + 1] = {id, 'missing', false, false, false}
  else
    local fields = entry[2]
    -- The stamps are appended after the original fields: strip them from the end.
    local n = #fields
    while n >= 2 and stamps[fields[n - 1]] do n = n - 2 end
    local source = field(fields, '${DEAD_LETTER_FIELDS.sourceId}')
    if not source or not string.match(source, '^%d+%-%d+$') or n == 0 then
      out[#out + 1] = {id, 'invalid', source or false, false, false}
    elseif redis.call('XRANGE', KEYS[1], source, source)[1] then
      local outcome = 'pending'
      if older(field(own, 'last-delivered-id'), source) then
        outcome = 'unread'
      elseif not dry and not redis.call('XPENDING', KEYS[1], group, source, source, 1)[1] then
        redis.call('XCLAIM', KEYS[1], group, consumer, 0, source,
          'IDLE', epochIdle, 'RETRYCOUNT', 0, 'FORCE', 'JUSTID')
      end
      if not dry then redis.call('XDEL', KEYS[2], id) end
      out[#out + 1] = {id, outcome, source, false, false}
    else
      local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
      local others, behind = {}, {}
      for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
        local name = field(g, 'name')
        if name ~= group then
          others[#others + 1] = name
          if top and older(field(g, 'last-delivered-id'), top[1]) then behind[#behind + 1] = name end
        end
      end
      if #behind > 0 then
        out[#out + 1] = {id, 'blocked', source, false, table.concat(behind, ',')}
      elseif dry then
        out[#out + 1] = {id, 'appended', source, false, false}
      else
        local newId = redis.call('XADD', KEYS[1], '*', unpack(fields, 1, n))
        local added = field(redis.call('XINFO', 'STREAM', KEYS[1]), 'entries-added')
        for _, name in ipairs(others) do
          if added then
            redis.call('XGROUP', 'SETID', KEYS[1], name, newId, 'ENTRIESREAD', added)
          else
            redis.call('XGROUP', 'SETID', KEYS[1], name, newId)
          end
        end
        redis.call('XDEL', KEYS[2], id)
        out[#out + 1] = {id, 'appended', source, newId, false}
      end
    end
  end
end
return out
`,
);

/**
 * Delete dead letters.
 * KEYS[1] dead-letter stream. ARGV: dry run (1/0), mode (`all` | `ids`), then ids.
 * Returns `{deleted (or, dry, would be), {missing id, …}}`.
 */
export const PURGE = /* @__PURE__ */ defineScript(
  'sluice-ops-purge',
  `
local dry, mode = ARGV[1] == '1', ARGV[2]
if mode == 'all' then
  local n = redis.call('XLEN', KEYS[1])
  if not dry then redis.call('DEL', KEYS[1]) end
  return {n, {}}
end
local n, missing = 0, {}
for i = 3, #ARGV do
  if redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])[1] then
    n = n + 1
    if not dry then redis.call('XDEL', KEYS[1], ARGV[i]) end
  else
    missing[#missing + 1] = ARGV[i]
  end
end
return {n, missing}
`,
);

/**
 * Reset a group's position so that it reads again from `from` on (inclusive), like Kafka's offset
 * reset. Pending entries stay pending. entries-read is set so that Redis keeps an exact lag, when
 * it can be known exactly (Redis 7, an exact count, no entry deleted at or after `from`).
 * KEYS[1] stream. ARGV: group, from (an id, or `$` for the end), position (the id just before
 * `from`; unused for `$`), dry run (1/0), count limit.
 * Returns `{previousLastDeliveredId, lastDeliveredId, entries, exact (1/0), entriesRead|nil,
 * pending, length}`; `entries` is how many the group will read again (at least that many when not
 * exact: both sides of `from` held more than the limit).
 */
export const REPLAY = /* @__PURE__ */ defineScript(
  'sluice-ops-replay',
  HELPERS,
  `
local group, from, position, dry, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
local own = groupInfo(KEYS[1], group)
if not own then return noGroup(KEYS[1], group) end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local length, added = field(info, 'length'), field(info, 'entries-added')
local maxDeleted = field(info, 'max-deleted-entry-id')
local count, exact = 0, true
if from == '$' then
  position = field(info, 'last-generated-id')
else
  count = #redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', limit + 1)
  if count > limit then
    local before = 0
    if from ~= '0-0' then before = #redis.call('XRANGE', KEYS[1], '-', '(' .. from, 'COUNT', limit + 1) end
    if before <= limit then count = length - before else exact = false end
  end
end
local entriesRead = false
if added and exact and (from == '$' or maxDeleted == '0-0' or (maxDeleted and older(maxDeleted, from))) then
  entriesRead = added - count
end
if not dry then
  if entriesRead then
    redis.call('XGROUP', 'SETID', KEYS[1], group, position, 'ENTRIESREAD', entriesRead)
  else
    redis.call('XGROUP', 'SETID', KEYS[1], group, position)
  end
end
return {field(own, 'last-delivered-id'), position, count, exact and 1 or 0, entriesRead,
  field(own, 'pending'), length}
`,
);
