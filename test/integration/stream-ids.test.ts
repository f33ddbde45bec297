import { describe, expect, it } from 'vitest';
import { defineScript, runScript } from '../../src/core/driver.js';
import { LUA_IDS, MAX_SEQ, previousId } from '../../src/core/stream-ids.js';
import { newDriver } from '../support/fixtures.js';

/** Runs the Lua helpers on a real Redis: for each id, its successor and whether it is older than the next id given. */
const PROBE = defineScript(
  'sluice-test-stream-ids',
  LUA_IDS,
  `
local out = {}
for i = 1, #ARGV, 2 do
  out[#out + 1] = { successor(ARGV[i]), older(ARGV[i], ARGV[i + 1]) and 1 or 0 }
end
return out
`,
);

describe('the TypeScript and Lua stream-id helpers agree', () => {
  const driver = newDriver();

  it('successor (Lua) undoes previousId (TypeScript), and the previous id is older, across sequence and ms limits', async () => {
    const ids = [
      '0-1',
      '1-0',
      '5-3',
      '1700000000000-0',
      `7-${MAX_SEQ}`,
      '99999999999999999999-0',
      '10-0',
      '9-9',
    ];
    const args = ids.flatMap((id) => [previousId(id), id]);
    const reply = (await runScript(driver, PROBE, ['sluice:{stream-ids}:probe'], args)) as [string, number][];
    expect(reply.map(([successor]) => successor)).toEqual(ids);
    expect(reply.map(([, older]) => older)).toEqual(ids.map(() => 1));
  });

  it('older compares by number, not by text', async () => {
    const pairs: [string, string, number][] = [
      ['9-0', '10-0', 1],
      ['10-0', '9-0', 0],
      ['5-9', '5-10', 1],
      ['5-10', '5-9', 0],
      ['5-5', '5-5', 0],
      ['5', '5-1', 1],
    ];
    const reply = (await runScript(
      driver,
      PROBE,
      ['sluice:{stream-ids}:probe'],
      pairs.flatMap((pair) => pair.slice(0, 2)),
    )) as [string, number][];
    expect(reply.map(([, older]) => older)).toEqual(pairs.map(([, , want]) => want));
  });
});
