/**
 * The Lua script of a group's rate limit: a token bucket in Redis (`…:rate:<group>`), shared by
 * every drain of the group however many run at once, taken in the same script as the read it pays
 * for — XREADGROUP's COUNT is the tokens granted, so no drain holds a message it cannot start, and
 * a read that finds fewer entries than tokens spends only what it read.
 */
import { defineScript } from './driver.js';
import { LUA_NOW } from './schedule-scripts.js';

/** How long an unused bucket is kept (the limit and the last second's rate, for stats). */
export const RATE_KEY_TTL_MS = 3_600_000;

/**
 * Refills the bucket (`perSecond`, up to `burst` tokens) by the time elapsed on Redis's clock, then
 * reads new entries (XREADGROUP `>`) up to the whole tokens held and `count`, and spends one token
 * per entry read. Also counts entries per second (for stats: the last whole second's rate). A
 * `pauseMs` > 0 first puts the bucket that far in debt (the group reads nothing for that long).
 * KEYS: stream, rate. ARGV: group, consumer, count, perSecond, burst, pauseMs.
 * Returns {waitMs, XREADGROUP's reply or {}}: waitMs > 0 when there was no whole token (how long
 * until `min(count, burst)` tokens are held), 0 after a read.
 */
export const RATE_READ = /* @__PURE__ */ defineScript(
  'sluice-rate-read',
  LUA_NOW,
  `
local stream, rate = KEYS[1], KEYS[2]
local group, consumer = ARGV[1], ARGV[2]
local count, per, burst = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local at = now()
local s = redis.call('HMGET', rate, 'tokens', 'at', 'second', 'n', 'prev')
local tokens = tonumber(s[1]) or burst
local last = tonumber(s[2]) or at
tokens = math.min(burst, tokens + math.max(0, at - last) * per / 1000)
local pause = tonumber(ARGV[6]) or 0
if pause > 0 then tokens = math.min(tokens, -pause * per / 1000) end
local second, n, prev = tonumber(s[3]) or 0, tonumber(s[4]) or 0, tonumber(s[5]) or 0
local current = math.floor(at / 1000)
if current ~= second then
  if current == second + 1 then prev = n else prev = 0 end
  second, n = current, 0
end
local take = math.min(count, math.floor(tokens))
local wait, reply, read = 0, {}, 0
if take >= 1 then
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', take, 'STREAMS', stream, '>')
  if r then
    reply = r
    read = #r[1][2]
  end
else
  wait = math.ceil((math.min(count, burst) - tokens) * 1000 / per)
end
tokens = tokens - read
n = n + read
redis.call('HSET', rate, 'tokens', tostring(tokens), 'at', at, 'second', second, 'n', n, 'prev', prev,
  'perSecond', ARGV[4], 'burst', burst)
redis.call('PEXPIRE', rate, ${RATE_KEY_TTL_MS})
return {wait, reply}
`,
);

/**
 * Each group's rate limit as its drains last recorded it (stats). KEYS: stream. ARGV: the rate
 * key's prefix (`…:rate:`; the group's name completes it: same slot as the stream).
 * Returns {now, {group, perSecond or false, burst, second, n, prev}, …}; no stream: {now}.
 */
export const RATE_STATE = /* @__PURE__ */ defineScript(
  'sluice-rate-state',
  LUA_NOW,
  `
local out = {now()}
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
if not ok then return out end
for _, g in ipairs(groups) do
  local name
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
  end
  local s = redis.call('HMGET', ARGV[1] .. name, 'perSecond', 'burst', 'second', 'n', 'prev')
  out[#out + 1] = {name, s[1] or false, s[2] or '0', s[3] or '0', s[4] or '0', s[5] or '0'}
end
return out
`,
);
