/**
 * Lua helpers shared by the scripts (`scripts.ts`, `ops-scripts.ts`): reading Redis's flat field
 * lists, and comparing and stepping stream ids as decimal strings — a sequence number may reach
 * 2^64 − 1, more than a Lua number holds exactly.
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
