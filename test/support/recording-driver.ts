/**
 * A driver that records each call it makes, for tests that count what a cycle sends: a script's
 * name (among those given), else the method. An EVAL is not recorded: it only follows an EVALSHA
 * the server answered NOSCRIPT (a script not yet in its cache), as the same call.
 */
import type { Driver, Script } from '../../src/core/driver.js';

export function recordingDriver(driver: Driver, scripts: Record<string, Script>) {
  const names = new Map<unknown, string>(
    Object.entries(scripts).flatMap(([name, script]) => [
      [script.sha1, name],
      [script.source, name],
    ]),
  );
  const calls: string[] = [];
  const view = new Proxy(driver, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]) => {
        if (property !== 'eval') calls.push(names.get(args[0]) ?? String(property));
        return value.apply(target, args);
      };
    },
  });
  return { driver: view, calls };
}
