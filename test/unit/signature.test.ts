import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/core/errors.js';
import {
  computeSignature,
  parseSignatureHeader,
  SignatureError,
  type SignatureProblem,
  signatureKey,
  signBody,
  verifySignature,
} from '../../src/http/signature.js';

const secret = 'whsec_test';
const body = '{"data":1}';
const t = 1_700_000_000;
// printf '%s' '1700000000.{"data":1}' | openssl dgst -sha256 -hmac whsec_test
const known = 'ae1adff65c94fc84568c7d1ea5091d542405e10d3c5ce3e6214482baf84eafe9';
const nowMs = t * 1000;

function problemOf(attempt: () => unknown): SignatureProblem | undefined {
  try {
    attempt();
  } catch (error) {
    if (error instanceof SignatureError) return error.problem;
    throw error;
  }
  return undefined;
}

/** The SignatureError `attempt` throws; fails the test when it throws none. */
function signatureErrorOf(attempt: () => unknown): SignatureError {
  try {
    attempt();
  } catch (error) {
    expect(error).toBeInstanceOf(SignatureError);
    return error as SignatureError;
  }
  throw new Error('expected a SignatureError, but nothing was thrown');
}

describe('computeSignature / signBody', () => {
  it('is hex HMAC-SHA256 of "<t>.<body>" (matches openssl)', () => {
    expect(computeSignature(secret, body, t)).toBe(known);
    expect(signBody(secret, body, t)).toBe(`t=${t},v1=${known}`);
  });

  it('signs the bytes: a string is its UTF-8, bytes are used as they are', () => {
    const text = '{"data":"ü €"}';
    expect(computeSignature(secret, text, t)).toBe(computeSignature(secret, Buffer.from(text), t));
    const invalidUtf8 = new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]);
    expect(computeSignature(secret, invalidUtf8, t)).not.toBe(
      computeSignature(secret, Buffer.from(invalidUtf8).toString('utf8'), t),
    );
  });

  it('defaults the timestamp to now, in whole seconds', () => {
    const before = Math.floor(Date.now() / 1000);
    const { timestamp } = parseSignatureHeader(signBody(secret, body));
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(before + 1);
  });

  it.each([[-1], [1.5], [Number.NaN], ['1700000000']])('refuses timestamp %j', (timestamp) => {
    expect(() => signBody(secret, body, timestamp as number)).toThrow(InvalidOptionError);
  });

  it('refuses an empty secret', () => {
    expect(() => signBody('', body, t)).toThrow(/secret/);
  });
});

describe('parseSignatureHeader', () => {
  it('reads t and every v1, in any case and spacing; ignores other schemes', () => {
    expect(parseSignatureHeader(` t=${t} , v1=${known.toUpperCase()},v0=abc, v1=${'0'.repeat(64)},`)).toEqual(
      {
        timestamp: t,
        signatures: [known, '0'.repeat(64)],
      },
    );
  });

  it.each([undefined, null, '', '   '])('%j is missing', (value) => {
    expect(problemOf(() => parseSignatureHeader(value))).toBe('missing');
  });

  it.each([
    ['no t', `v1=${known}`],
    ['no v1', `t=${t}`],
    ['two t', `t=${t},t=${t},v1=${known}`],
    ['t not a number', `t=soon,v1=${known}`],
    ['t negative', `t=-5,v1=${known}`],
    ['t fractional', `t=1.5,v1=${known}`],
    ['t with leading zeros', `t=0${t},v1=${known}`],
    ['t absurdly large', `t=${'9'.repeat(13)},v1=${known}`],
    ['v1 too short', `t=${t},v1=${known.slice(1)}`],
    ['v1 not hex', `t=${t},v1=${'g'.repeat(64)}`],
    ['a part without =', `t=${t},v1=${known},junk`],
    ['a part with an empty name', `t=${t},=x,v1=${known}`],
    ['too many v1', `t=${t}${`,v1=${known}`.repeat(9)}`],
    ['a huge header', `t=${t},v1=${known},x=${'a'.repeat(2000)}`],
    ['a Stripe-style space-separated header', `t=${t} v1=${known}`],
  ])('%s is malformed', (_name, value) => {
    expect(problemOf(() => parseSignatureHeader(value))).toBe('malformed');
  });

  it('never echoes what was sent', () => {
    const error = signatureErrorOf(() => parseSignatureHeader(`t=${t},v1=secret-looking-${'x'.repeat(47)}`));
    expect(error.problem).toBe('malformed');
    expect(error.message).not.toContain('secret-looking');
  });
});

describe('verifySignature', () => {
  const options = { secrets: [secret], nowMs, toleranceSeconds: 300 };

  it('accepts a good signature and names the signed content for the replay guard', () => {
    // printf '%s' '1700000000.{"data":1}' | sha256sum
    expect(verifySignature(signBody(secret, body, t), body, options)).toEqual({
      timestamp: t,
      replayId: '51715a38b214160ae94f46d7c4a8cb7617e565550d74584aabdfb480d1e86852',
    });
  });

  it('accepts any configured secret (rotation), and any of several v1 values', () => {
    const rotated = { ...options, secrets: ['new-secret', secret] };
    expect(() => verifySignature(signBody(secret, body, t), body, rotated)).not.toThrow();
    const both = `t=${t},v1=${computeSignature('retired', body, t)},v1=${known}`;
    expect(() => verifySignature(both, body, options)).not.toThrow();
  });

  it.each([
    ['another secret', signBody('other', body, t), body],
    ['a changed body', signBody(secret, body, t), '{"data":2}'],
    ['a body with a byte added', signBody(secret, body, t), `${body}\n`],
    ['a changed timestamp', `t=${t + 1},v1=${known}`, body],
  ])('refuses %s as a mismatch', (_name, header, sent) => {
    expect(problemOf(() => verifySignature(header, sent, options))).toBe('mismatch');
  });

  it('checks the match before the time, so only a real signature learns about the window', () => {
    expect(problemOf(() => verifySignature(signBody('other', body, 1), body, options))).toBe('mismatch');
  });

  it('accepts timestamps up to the tolerance either side, and not one second more', () => {
    const at = (timestamp: number) =>
      problemOf(() => verifySignature(signBody(secret, body, timestamp), body, options));
    expect(at(t - 300)).toBeUndefined();
    expect(at(t + 300)).toBeUndefined();
    expect(at(t - 301)).toBe('expired');
    expect(at(t + 301)).toBe('future');
    // Within the current second the server reads its clock in whole seconds.
    expect(
      problemOf(() =>
        verifySignature(signBody(secret, body, t - 300), body, { ...options, nowMs: nowMs + 999 }),
      ),
    ).toBeUndefined();
  });

  it('defaults the tolerance to 300 s', () => {
    const { toleranceSeconds: _, ...defaults } = options;
    expect(problemOf(() => verifySignature(signBody(secret, body, t - 300), body, defaults))).toBeUndefined();
    expect(problemOf(() => verifySignature(signBody(secret, body, t - 301), body, defaults))).toBe('expired');
  });

  it('says how far off the clock is, never a secret or the expected signature', () => {
    const expected = computeSignature(secret, body, t);
    for (const header of [signBody(secret, body, t - 400), `t=${t},v1=${'0'.repeat(64)}`]) {
      const { message } = signatureErrorOf(() => verifySignature(header, body, options));
      expect(message).not.toContain(secret);
      expect(message).not.toContain(expected);
    }
    expect(() => verifySignature(signBody(secret, body, t - 400), body, options)).toThrow(/400 s before/);
  });

  it('needs a real clock', () => {
    expect(() => verifySignature(signBody(secret, body, t), body, { ...options, nowMs: Number.NaN })).toThrow(
      InvalidOptionError,
    );
  });

  it('refuses everything when no secret is configured', () => {
    expect(
      problemOf(() => verifySignature(signBody(secret, body, t), body, { ...options, secrets: [] })),
    ).toBe('mismatch');
  });
});

describe('signatureKey', () => {
  it('is one key whatever the topic (a signature does not cover the topic)', () => {
    expect(signatureKey('orders', 'ab')).toBe('sluice:sig:ab');
    expect(signatureKey('refunds', 'ab')).toBe('sluice:sig:ab');
  });
});
