/**
 * The example handler: what the drain function does with each message of the `orders` topic.
 * Replace this file's body with your own processing; the rest of the app stays as it is.
 *
 * - Resolve → the message is acknowledged.
 * - Throw → it stays pending and is redelivered after the visibility timeout.
 * - Throw a PermanentError → it goes to the dead-letter stream at once.
 * - Honour `signal`: it fires when the invocation's time is up.
 *
 * Delivery is at-least-once: make your side effects idempotent (key them by `message.id`).
 */
import type { Handler } from '../src/index.js';
import { PermanentError } from '../src/index.js';

export interface Order {
  readonly orderId: string | number;
  readonly amount?: number;
}

export const handleMessage: Handler<Order> = async (message, { signal }) => {
  signal.throwIfAborted();
  if (message.format === 'foreign') {
    console.info(JSON.stringify({ message: 'foreign message', id: message.id, fields: message.fields }));
    return;
  }
  const order = message.data;
  if (typeof order !== 'object' || order === null || order.orderId === undefined) {
    throw new PermanentError('an order needs an orderId');
  }
  console.info(
    JSON.stringify({
      message: 'order processed',
      id: message.id,
      orderId: order.orderId,
      deliveries: message.deliveries,
    }),
  );
};
