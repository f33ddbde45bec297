/**
 * A hand-made Standard Schema for tests (no validation library is a dependency): an order with a
 * numeric `orderId` and a string `currency`. Its output adds `checked: true`, so a test can tell
 * the schema's output from the raw payload; `async` makes `validate` answer with a promise.
 */
import type { StandardSchemaIssue, StandardSchemaV1 } from '../../src/core/schema.js';

export interface Order {
  readonly orderId: number;
  readonly currency: string;
}

export type CheckedOrder = Order & { readonly checked: true };

export interface OrderSchema extends StandardSchemaV1<Order, CheckedOrder> {
  /** How many values it validated. */
  readonly calls: () => number;
}

export function orderSchema({ async = false } = {}): OrderSchema {
  let calls = 0;
  const validate = (value: unknown) => {
    calls++;
    const issues: StandardSchemaIssue[] = [];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({ message: 'expected an object' });
    } else {
      const { orderId, currency } = value as Record<string, unknown>;
      if (typeof orderId !== 'number') issues.push({ message: 'expected a number', path: ['orderId'] });
      if (typeof currency !== 'string')
        issues.push({ message: 'expected a string', path: [{ key: 'currency' }] });
    }
    const result =
      issues.length > 0 ? { issues } : { value: { ...(value as Order), checked: true as const } };
    return async ? Promise.resolve(result) : result;
  };
  return { '~standard': { version: 1, vendor: 'sluice-test', validate }, calls: () => calls };
}
