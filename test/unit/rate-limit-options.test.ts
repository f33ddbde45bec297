/** The `rateLimit` drain option and `SLUICE_RATE_LIMIT_PER_SECOND`: checked, defaults applied, errors named. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { type DrainOptions, resolveDrainOptions } from '../../src/consume/options.js';
import { InvalidOptionError } from '../../src/core/errors.js';

const base = { topic: 'orders', group: 'g', handler: () => {} } as const;
const env = { REDIS_URL: 'redis://localhost:6379' };

describe('rateLimit', () => {
  it('is unset by default, and takes a burst of a tenth of a second unless given', () => {
    expect(resolveDrainOptions(base).rateLimit).toBeUndefined();
    expect(resolveDrainOptions({ ...base, rateLimit: { perSecond: 200 } }).rateLimit).toEqual({
      perSecond: 200,
      burst: 20,
      pauseOnRetryLater: false,
    });
    expect(resolveDrainOptions({ ...base, rateLimit: { perSecond: 0.5 } }).rateLimit).toEqual({
      perSecond: 0.5,
      burst: 1,
      pauseOnRetryLater: false,
    });
    const rateLimit = { perSecond: 50, burst: 100, pauseOnRetryLater: true };
    expect(resolveDrainOptions({ ...base, rateLimit }).rateLimit).toEqual(rateLimit);
  });

  it.each([
    [{ perSecond: 0 }, /`rateLimit.perSecond` to be a number > 0/],
    [{ perSecond: Number.NaN }, /`rateLimit.perSecond`/],
    [{ perSecond: '10' }, /`rateLimit.perSecond`/],
    [{ perSecond: 10, burst: 0 }, /`rateLimit.burst` to be an integer from 1/],
    [{ perSecond: 10, burst: 2.5 }, /`rateLimit.burst`/],
    [{ perSecond: 10, pauseOnRetryLater: 'yes' }, /`rateLimit.pauseOnRetryLater` to be a boolean/],
    ['fast', /`rateLimit` to be \{ perSecond, burst\? \}/],
  ])('refuses %j', (rateLimit, message) => {
    const options = { ...base, rateLimit } as unknown as DrainOptions;
    expect(() => resolveDrainOptions(options)).toThrow(InvalidOptionError);
    expect(() => resolveDrainOptions(options)).toThrow(message);
  });

  it('SLUICE_RATE_LIMIT_PER_SECOND sets it; a bad value names the variable', () => {
    expect(loadConfig(env).drain.rateLimit).toBeUndefined();
    expect(loadConfig({ ...env, SLUICE_RATE_LIMIT_PER_SECOND: '200' }).drain.rateLimit).toEqual({
      perSecond: 200,
    });
    expect(loadConfig({ ...env, SLUICE_RATE_LIMIT_PER_SECOND: '0.5' }).drain.rateLimit).toEqual({
      perSecond: 0.5,
    });
    expect(() => loadConfig({ ...env, SLUICE_RATE_LIMIT_PER_SECOND: 'fast' })).toThrow(
      /^SLUICE_RATE_LIMIT_PER_SECOND must be a number of messages per second, got "fast"/,
    );
    expect(() => loadConfig({ ...env, SLUICE_RATE_LIMIT_PER_SECOND: '0' })).toThrow(
      /^SLUICE_RATE_LIMIT_PER_SECOND: Expected `rateLimit.perSecond` to be a number > 0/,
    );
  });
});
