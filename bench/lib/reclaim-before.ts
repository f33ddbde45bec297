/**
 * The reclaim script as it was before the group's retry schedule (commit 71e7c38): XPENDING … IDLE,
 * then XCLAIM of what the back-off by delivery count says is due. Kept only so that the reclaim
 * benchmark can run it side by side with today's script, in one run.
 */
import { defineScript } from '../../src/core/driver.js';

export const RECLAIM_BEFORE_SCHEDULE = /* @__PURE__ */ defineScript(
  'sluice-reclaim-before-schedule',
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
