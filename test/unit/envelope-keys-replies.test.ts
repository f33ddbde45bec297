import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/core/envelope.js';
import { InvalidMessageError, PermanentError } from '../../src/core/errors.js';
import { hashTagOf, streamKeys } from '../../src/core/keys.js';
import { fieldsToRecord, parseReadGroup, parseReclaim } from '../../src/core/replies.js';
import { idTime } from '../../src/core/stream-ids.js';

describe('keys', () => {
  it('maps a topic to a hash-tagged stream and companion keys in the same slot', () => {
    const keys = streamKeys({ topic: 'orders' });
    expect(keys.stream).toBe('sluice:{orders}');
    expect(keys.deadLetters('billing')).toBe('sluice:{orders}:dlq:billing');
    expect(keys.idempotency('abc')).toBe('sluice:{orders}:idem:abc');
    expect(keys.batchIdempotency('abc', 3)).toBe('sluice:{orders}:idem-batch:3:abc');
  });

  it('uses a foreign stream as it is, companions borrowing its hash tag or whole name', () => {
    expect(streamKeys({ stream: 'events' }).deadLetters('g')).toBe('sluice:{events}:dlq:g');
    expect(streamKeys({ stream: 'app:{tenant-1}:events' }).deadLetters('g')).toBe('sluice:{tenant-1}:dlq:g');
  });

  it('finds the hash tag as Redis Cluster does', () => {
    expect(hashTagOf('a{b}c')).toBe('b');
    expect(hashTagOf('a{}c{d}')).toBe('a{}c{d}');
    expect(hashTagOf('plain')).toBe('plain');
    expect(hashTagOf('a{b')).toBe('a{b');
    expect(hashTagOf('{{x}}')).toBe('{x');
  });

  it('rejects topic names outside [A-Za-z0-9._-]{1,100}', () => {
    for (const bad of ['', 'a b', '{x}', 'a:b', '*', 'x'.repeat(101), 'ü']) {
      expect(() => streamKeys({ topic: bad })).toThrow(/`topic` to match/);
    }
  });
});

describe('envelope', () => {
  it('encodes data as JSON with the format marker and optional key', () => {
    expect(encodeMessage({ data: { a: 1 } })).toEqual(['sluice', '1', 'data', '{"a":1}']);
    expect(encodeMessage({ data: '123', key: 'k' })).toEqual(['sluice', '1', 'data', '"123"', 'key', 'k']);
  });

  it('refuses what JSON cannot carry, naming the place', () => {
    expect(() => encodeMessage({ data: undefined })).toThrow(InvalidMessageError);
    expect(() => encodeMessage({} as { data: unknown }, 'messages[2]: ')).toThrow(
      'messages[2]: `data` is missing',
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeMessage({ data: cyclic })).toThrow(/cannot be serialised/);
    expect(() => encodeMessage(null as never)).toThrow(/expected a message object/);
  });

  it('refuses keys that would collide or blow up: lone surrogates, deep nesting (without echoing them)', () => {
    expect(() => encodeMessage({ data: 1, key: 'k\ud800' })).toThrow(/lone surrogate/);
    expect(() => encodeMessage({ data: 1, idempotencyKey: 'k\udc00' })).toThrow(/lone surrogate/);
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => encodeMessage({ data: 1, key: deep as string })).toThrow(
      '`key` must be a string of 1 to 256 characters, got an array',
    );
  });

  it('decodes a sluice entry', () => {
    const message = decodeMessage(
      's',
      { id: '1700000000000-3', fields: ['sluice', '1', 'data', '"123"', 'key', 'k'] },
      2,
    );
    expect(message).toMatchObject({
      id: '1700000000000-3',
      stream: 's',
      format: 'sluice',
      data: '123',
      key: 'k',
      deliveries: 2,
      publishedAt: 1700000000000,
    });
  });

  it('decodes anything else as foreign, with raw fields and no prototype pollution', () => {
    const message = decodeMessage('s', { id: '5-0', fields: ['__proto__', 'p', 'data', 'not json'] }, 1);
    expect(message.format).toBe('foreign');
    expect(message.data).toBeUndefined();
    expect(message.key).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(message.fields, '__proto__')?.value).toBe('p');
    expect(({} as Record<string, unknown>).p).toBeUndefined();
    expect(idTime('42-7')).toBe(42);
  });

  it('an entry marked as sluice but holding no JSON: reading data is a permanent failure', () => {
    const message = decodeMessage('s', { id: '5-0', fields: ['sluice', '1', 'data', 'not json'] }, 1);
    expect(message.format).toBe('sluice');
    expect(() => message.data).toThrow(PermanentError);
  });

  it('a message serialises to a plain copy', () => {
    const message = decodeMessage(
      's',
      { id: '7-1', fields: ['sluice', '1', 'data', '{"a":1}', 'key', 'k'] },
      2,
    );
    expect(JSON.parse(JSON.stringify(message))).toEqual({
      id: '7-1',
      stream: 's',
      format: 'sluice',
      data: { a: 1 },
      key: 'k',
      publishedAt: 7,
      deliveries: 2,
      fields: { sluice: '1', data: '{"a":1}', key: 'k' },
    });
  });
});

describe('replies', () => {
  it('parses XREADGROUP, empty and full', () => {
    expect(parseReadGroup(null)).toEqual([]);
    expect(parseReadGroup([['s', [['1-0', ['a', 'b']]]]])).toEqual([{ id: '1-0', fields: ['a', 'b'] }]);
  });

  it('parses the reclaim script: cursor, claimed entries with delivery counts, deleted ids, due times, promotions', () => {
    expect(parseReclaim(['5-0', [['1-0', 3, ['a', 'b']]], ['2-0'], -1, 2, 1500])).toEqual({
      cursor: '5-0',
      claimed: [{ entry: { id: '1-0', fields: ['a', 'b'] }, deliveries: 3 }],
      deletedIds: ['2-0'],
      promoted: 2,
      nextDeliveryMs: 1500,
    });
    expect(parseReclaim(['0-0', [], [], 40, 0, -1])).toEqual({
      cursor: '0-0',
      claimed: [],
      deletedIds: [],
      nextDueMs: 40,
      promoted: 0,
    });
  });

  it('fails loudly on shapes it does not know', () => {
    expect(() => parseReadGroup('OK')).toThrow(/Unexpected XREADGROUP reply/);
    expect(() => parseReclaim(['0-0', [['1-0']], [], -1, 0, -1])).toThrow(/Unexpected reclaimed entry reply/);
    expect(() => parseReclaim(['0-0', [], []])).toThrow(/Unexpected reclaim reply/);
  });

  it('fieldsToRecord keeps the last of repeated fields', () => {
    expect({ ...fieldsToRecord(['a', '1', 'a', '2']) }).toEqual({ a: '2' });
  });
});
