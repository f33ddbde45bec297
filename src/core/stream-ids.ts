/**
 * Stream ids (`<ms>-<seq>`), in one place: their time, their normal form, the id before one, a
 * validator for ids given as options, and the same comparisons in Lua for the scripts
 * (`LUA_IDS`). A sequence number may reach 2^64 − 1, more than a JavaScript or Lua number holds
 * exactly: TypeScript steps ids as bigints, Lua compares and steps them as decimal strings.
 */
import { InvalidOptionError } from './errors.js';
import { describeGot } from './validate.js';

/** Redis's largest sequence number: `<ms>-<MAX_SEQ>` is the last possible id of a millisecond. */
export const MAX_SEQ = 18_446_744_073_709_551_615n;
const STREAM_ID = /^(\d{1,20})(?:-(\d{1,20}))?$/;

/** The millisecond timestamp of a stream id. */
export function idTime(id: string): number {
  const dash = id.indexOf('-');
  return Number(dash === -1 ? id : id.slice(0, dash));
}

/** A stream id normalised to `<ms>-<seq>` (no leading zeros), or undefined when `text` is not one. */
export function normaliseStreamId(text: string): string | undefined {
  const match = STREAM_ID.exec(text);
  if (!match) return undefined;
  const ms = BigInt(match[1] as string);
  const seq = BigInt(match[2] ?? '0');
  if (ms > MAX_SEQ || seq > MAX_SEQ) return undefined;
  return `${ms}-${seq}`;
}

/** The id just before `id` (`<ms>-<seq>`): what a group's last-delivered id must be for `id` to be read next. */
export function previousId(id: string): string {
  const [ms, seq] = id.split('-').map((part) => BigInt(part)) as [bigint, bigint];
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  if (ms > 0n) return `${ms - 1n}-${MAX_SEQ}`;
  return '0-0';
}

/** Validates an option holding a stream id (`<ms>-<seq>` or `<ms>`) and returns it normalised. */
export function streamIdOption(name: string, value: unknown): string {
  const id = typeof value === 'string' ? normaliseStreamId(value) : undefined;
  if (id === undefined) {
    throw new InvalidOptionError(
      name,
      `Expected \`${name}\` to be a stream id (<ms>-<seq> or <ms>), got ${describeGot(value)}`,
    );
  }
  return id;
}

/**
 * Lua helpers shared by the scripts (`core/scripts.ts`, `ops/scripts.ts`): reading Redis's flat
 * field lists (`field`), and comparing (`older`) and stepping (`successor`) stream ids as decimal
 * strings.
 */
export const LUA_IDS = `
local function field(list, name)
  for i = 1, #list, 2 do
    if list[i] == name then return list[i + 1] end
  end
  return nil
end
local function split(id)
  local dash = string.find(id, '-', 1, true)
  if not dash then return id, '0' end
  return string.sub(id, 1, dash - 1), string.sub(id, dash + 1)
end
local function less(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
-- a < b, for stream ids
local function older(a, b)
  local ams, aseq = split(a)
  local bms, bseq = split(b)
  if ams ~= bms then return less(ams, bms) end
  return less(aseq, bseq)
end
-- a decimal string plus one
local function plusOne(n)
  local digits, carry = {}, 1
  for i = #n, 1, -1 do
    local d = string.byte(n, i) - 48 + carry
    carry = 0
    if d == 10 then
      d, carry = 0, 1
    end
    digits[i] = string.char(d + 48)
  end
  local s = table.concat(digits)
  if carry == 1 then s = '1' .. s end
  return s
end
-- the smallest stream id after id
local function successor(id)
  local ms, seq = split(id)
  if seq == '18446744073709551615' then return plusOne(ms) .. '-0' end
  return ms .. '-' .. plusOne(seq)
end
`;
