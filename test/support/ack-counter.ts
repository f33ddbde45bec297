/**
 * A driver that counts XACKs however they are sent: on their own (`ack`) or carried by a read in
 * the same round trip (`readGroup` with `ack`, drivers with `ackWithRead`).
 */
import type { Driver } from '../../src/core/driver.js';

export function countingAcks(inner: Driver): { driver: Driver; xacks: () => number; ids: () => string[] } {
  let xacks = 0;
  const ids: string[] = [];
  const driver: Driver = {
    ...inner,
    ack: (stream, group, acked) => {
      xacks++;
      ids.push(...acked);
      return inner.ack(stream, group, acked);
    },
    readGroup: (args) => {
      if (args.ack !== undefined) {
        xacks++;
        ids.push(...args.ack);
      }
      return inner.readGroup(args);
    },
  };
  return { driver, xacks: () => xacks, ids: () => ids };
}
