import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/core/errors.js';
import { FIRST_POLL_DELAY_MS, pollBackoff } from '../../src/core/poll.js';
import { idTime, MAX_SEQ, normaliseStreamId, previousId, streamIdOption } from '../../src/core/stream-ids.js';
import { integerOption } from '../../src/core/validate.js';

describe('stream ids', () => {
  it('normalises <ms>-<seq> and <ms>, and refuses anything else', () => {
    expect(normaliseStreamId('0001700000000000-007')).toBe('1700000000000-7');
    expect(normaliseStreamId('42')).toBe('42-0');
    expect(normaliseStreamId(`1-${MAX_SEQ}`)).toBe(`1-${MAX_SEQ}`);
    for (const bad of ['', '-1', '1-', '1-2-3', 'abc', '1.5', `1-${MAX_SEQ + 1n}`, ' 1-2'])
      expect(normaliseStreamId(bad), bad).toBeUndefined();
  });

  it('steps back one id, across a millisecond, never before 0-0', () => {
    expect(previousId('5-3')).toBe('5-2');
    expect(previousId('5-0')).toBe(`4-${MAX_SEQ}`);
    expect(previousId(`7-${MAX_SEQ}`)).toBe(`7-${MAX_SEQ - 1n}`);
    expect(previousId('0-0')).toBe('0-0');
  });

  it('reads the time of an id, with or without a sequence', () => {
    expect(idTime('1700000000000-5')).toBe(1_700_000_000_000);
    expect(idTime('42')).toBe(42);
  });

  it('an id option is returned normalised, or refused naming the option', () => {
    expect(streamIdOption('from', '0010-1')).toBe('10-1');
    for (const bad of [undefined, 12, 'soon'] as const) {
      const error = (() => {
        try {
          streamIdOption('from', bad);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe('from');
      expect((error as Error).message).toMatch(
        /^Expected `from` to be a stream id \(<ms>-<seq> or <ms>\), got /,
      );
    }
  });
});

describe('integerOption', () => {
  it('returns an integer in range', () => {
    expect(integerOption('count', 5, 1, 10)).toBe(5);
    expect(integerOption('count', 0, 0)).toBe(0);
  });

  it('refuses anything else with checkInteger’s message, naming the option', () => {
    for (const [value, got] of [
      [0, '`0` (number)'],
      [11, '`11` (number)'],
      [1.5, '`1.5` (number)'],
      ['5', '`"5"` (string)'],
      [null, '`null`'],
    ] as const) {
      expect(() => integerOption('count', value, 1, 10)).toThrow(
        new InvalidOptionError('count', `Expected \`count\` to be an integer from 1 to 10, got ${got}`),
      );
    }
    expect(() => integerOption('limit', -1, 1)).toThrow(
      'Expected `limit` to be an integer >= 1, got `-1` (number)',
    );
  });
});

describe('pollBackoff', () => {
  const aborted = AbortSignal.abort();

  it('waits 50 ms after an empty poll, doubling up to the longest wait; a read starts it over', async () => {
    const backoff = pollBackoff(300);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) waits.push(await backoff.wait(aborted));
    expect(waits).toEqual([FIRST_POLL_DELAY_MS, 100, 200, 300, 300]);
    backoff.reset();
    expect(backoff.delayMs).toBe(FIRST_POLL_DELAY_MS);
    expect(await backoff.wait(aborted)).toBe(FIRST_POLL_DELAY_MS);
  });

  it('never waits longer than the longest wait, even the first time', async () => {
    const backoff = pollBackoff(20);
    expect([await backoff.wait(aborted), await backoff.wait(aborted)]).toEqual([20, 20]);
  });

  it('a wait is cut to the time left, and is at least 1 ms', async () => {
    const backoff = pollBackoff(1_000);
    expect(await backoff.wait(aborted, 30)).toBe(30);
    expect(await backoff.wait(aborted, 0)).toBe(1);
    // The delay still doubled behind the cut waits.
    expect(backoff.delayMs).toBe(200);
  });

  it('sleeps the wait when nothing aborts it', async () => {
    const backoff = pollBackoff(1_000);
    const started = performance.now();
    await backoff.wait(undefined, 25);
    expect(performance.now() - started).toBeGreaterThanOrEqual(20);
  });
});
