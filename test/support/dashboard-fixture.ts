/**
 * Fixed data for the dashboard's screenshots: what the ops endpoint answers, typed with the
 * endpoint's own types (a change of its shape breaks this file at compile time), on a fixed clock,
 * so that the page renders the same pixels on every run. The numbers are large (lag past 200,000)
 * to show the y-axis labels that were once clipped.
 */
import type { DeadLetter, DeadLetterPage, GroupStats, TopicStats } from '../../src/ops/index.js';

/** The page's clock at the first poll: 2026-11-30 09:00:00 UTC. */
export const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);
export const POLL_MS = 5_000;
/** Polls in the chart's history. */
export const POLLS = 14;

const id = (ms: number, seq = 0) => `${ms}-${seq}`;

function group(name: string, poll: number, values: Partial<GroupStats>): GroupStats {
  return {
    name,
    lag: 0,
    pending: 0,
    oldestPendingId: null,
    oldestPendingAgeMs: null,
    oldestPendingIdleMs: null,
    consumers: 1,
    lastDeliveredId: id(T0 + poll * POLL_MS - 800, 3),
    entriesRead: null,
    deadLetters: 0,
    ...values,
  };
}

/** Lag of billing over the polls: a backlog building up past 200,000. */
const BILLING_LAG = [
  61_250, 74_800, 90_120, 104_900, 118_300, 131_750, 146_020, 157_400, 169_880, 178_200, 186_950, 194_300,
  201_760, 208_506,
];
const BILLING_PENDING = [
  1_200, 1_350, 1_100, 1_600, 1_450, 1_500, 1_300, 1_700, 1_650, 1_400, 1_550, 1_480, 1_620, 1_500,
];
const SHIPPING_PENDING = [40, 25, 60, 12, 0, 30, 45, 20, 10, 35, 15, 0, 22, 12];

/** What GET /ops/stats answers at poll `n` (0 is the first). */
export function statsAt(n: number): { measuredAt: number; topics: TopicStats[] } {
  const poll = Math.min(n, POLLS - 1);
  const measuredAt = T0 + n * POLL_MS;
  const ordersLength = 250_000 + poll * 4_000;
  const orders: TopicStats = {
    topic: 'orders',
    stream: 'sluice:{orders}',
    exists: true,
    length: ordersLength,
    firstId: id(T0 - 3_600_000),
    lastId: id(measuredAt - 400, 7),
    lastGeneratedId: id(measuredAt - 400, 7),
    scheduled: 12,
    nextDueAt: T0 + 240_000,
    measuredAt,
    groups: [
      group('billing', n, {
        lag: BILLING_LAG[poll] as number,
        pending: BILLING_PENDING[poll] as number,
        oldestPendingId: id(measuredAt - 95_000),
        oldestPendingAgeMs: 95_000,
        oldestPendingIdleMs: 72_000,
        consumers: 3,
        deadLetters: 45,
      }),
      group('shipping', n, {
        pending: SHIPPING_PENDING[poll] as number,
        oldestPendingId: SHIPPING_PENDING[poll] ? id(measuredAt - 1_800) : null,
        oldestPendingAgeMs: SHIPPING_PENDING[poll] ? 1_800 : null,
        oldestPendingIdleMs: SHIPPING_PENDING[poll] ? 1_200 : null,
        consumers: 2,
        deadLetters: 1,
      }),
    ],
  };
  const refunds: TopicStats = {
    topic: 'refunds',
    stream: 'sluice:{refunds}',
    exists: true,
    length: 5,
    firstId: id(T0 - 600_000),
    lastId: id(T0 - 540_000, 4),
    lastGeneratedId: id(T0 - 540_000, 4),
    scheduled: 0,
    nextDueAt: null,
    measuredAt,
    groups: [group('ledger', 0, { lastDeliveredId: id(T0 - 540_000, 4) })],
  };
  return { measuredAt, topics: [orders, refunds] };
}

function deadLetter(k: number, failedBy: 'billing' | 'shipping'): DeadLetter {
  const deadAtMs = T0 - 45_000 - k * 97_000;
  const orderId = 84_200 - k * 7;
  const permanent = failedBy === 'shipping' || k % 3 !== 1;
  const data = {
    orderId,
    customer: `cus_${(orderId * 7919).toString(36)}`,
    amount: 1_999 + (k % 5) * 250,
    currency: 'EUR',
    items: [{ sku: `SKU-${100 + (k % 9)}`, quantity: 1 + (k % 3) }],
  };
  return {
    id: id(deadAtMs, 0),
    reason: permanent ? 'permanent' : 'max-deliveries',
    error:
      failedBy === 'shipping'
        ? 'Error: warehouse API timed out after 10000 ms'
        : permanent
          ? `PermanentError: card declined for order ${orderId} (insufficient funds)`
          : 'Error: payment provider answered 503 Service Unavailable',
    deliveries: permanent ? 1 : 5,
    sourceId: id(deadAtMs - 12_000, k % 4),
    sourceStream: 'sluice:{orders}',
    deadAt: new Date(deadAtMs).toISOString(),
    fields: { data: JSON.stringify(data) },
    format: 'sluice',
    data,
    key: `customer-${k % 4}`,
  };
}

/** What GET …/groups/{group}/dead-letters?order=newest answers: the newest 20 (all of shipping's one). */
export function deadLettersOf(group: string): DeadLetterPage | undefined {
  if (group !== 'billing' && group !== 'shipping') return undefined;
  const total = group === 'billing' ? 45 : 1;
  const shown = Math.min(total, 20);
  const deadLetters = Array.from({ length: shown }, (_, k) => deadLetter(k, group));
  return {
    stream: `sluice:{orders}:dlq:${group}`,
    group,
    total,
    deadLetters,
    next: total > shown ? `(${deadLetters[shown - 1]?.id}` : null,
  };
}
