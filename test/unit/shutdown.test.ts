/** The shutdown option and helper: `shutdownGraceMs` checked, `shutdownSignal()` listeners and exit codes. */
import { describe, expect, it } from 'vitest';
import { resolveDrainOptions } from '../../src/consume/options.js';
import { shutdownSignal, signalExitCode } from '../../src/consume/shutdown.js';
import { InvalidOptionError } from '../../src/core/errors.js';

const base = { topic: 'orders', group: 'g', handler: () => {} };

describe('shutdownGraceMs', () => {
  it('defaults to 5000 and takes 0 (handlers aborted at once)', () => {
    expect(resolveDrainOptions(base).shutdownGraceMs).toBe(5_000);
    expect(resolveDrainOptions({ ...base, shutdownGraceMs: 0 }).shutdownGraceMs).toBe(0);
  });

  it.each([-1, 1.5, '100', Number.NaN, 15 * 60 * 1000 + 1])('refuses %s, naming the option', (value) => {
    expect(() => resolveDrainOptions({ ...base, shutdownGraceMs: value as number })).toThrow(
      expect.objectContaining({ name: 'InvalidOptionError', option: 'shutdownGraceMs' }),
    );
  });
});

describe('shutdownSignal', () => {
  it('listens for SIGTERM and SIGINT until disposed', () => {
    const before = ['SIGTERM', 'SIGINT'].map((s) => process.listenerCount(s));
    const shutdown = shutdownSignal();
    expect(['SIGTERM', 'SIGINT'].map((s) => process.listenerCount(s))).toEqual(before.map((n) => n + 1));
    expect(shutdown.signal.aborted).toBe(false);
    expect(shutdown.received).toBeUndefined();
    expect(shutdown.exitCode).toBeUndefined();
    shutdown.dispose();
    expect(['SIGTERM', 'SIGINT'].map((s) => process.listenerCount(s))).toEqual(before);
  });

  it('the first signal aborts; a second one goes to onSecondSignal', () => {
    const seconds: string[] = [];
    const shutdown = shutdownSignal({ signals: ['SIGUSR2'], onSecondSignal: (s) => seconds.push(s) });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(shutdown.signal.aborted).toBe(true);
      expect(shutdown.signal.reason).toMatchObject({ name: 'AbortError' });
      expect(shutdown.received).toBe('SIGUSR2');
      expect(shutdown.exitCode).toBe(signalExitCode('SIGUSR2'));
      expect(seconds).toEqual([]);
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(seconds).toEqual(['SIGUSR2']);
    } finally {
      shutdown.dispose();
    }
  });

  it('exit codes follow the shell: 128 + the signal number', () => {
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
  });

  it.each([[[]], [['SIGNOPE']], [['SIGKILL']], ['SIGTERM']])('refuses signals %j', (signals) => {
    expect(() => shutdownSignal({ signals: signals as NodeJS.Signals[] })).toThrow(InvalidOptionError);
  });
});
