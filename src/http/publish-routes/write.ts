/**
 * The write of a publish request, once everything is checked: the signature's claim against
 * replays, the batch (whole or not at all), and the 202 answer with the ids (and due times).
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingMessage } from '../../core/envelope.js';
import { publishBatch } from '../../publish/batch.js';
import type { PublishResult } from '../../publish/options.js';
import { jsonAnswer } from '../answers.js';
import { claimSignature, type VerifiedSignature } from '../signature.js';
import type { PublishContext, PublishResponse } from './context.js';

/** What one request writes, all of it checked. */
export interface PublishWrite {
  readonly topic: string;
  readonly messages: readonly OutgoingMessage[];
  /** The Idempotency-Key header of a batch. */
  readonly batchKey: string | undefined;
  /** The request's verified signature, claimed before the write; undefined for a bearer token. */
  readonly signature: VerifiedSignature | undefined;
  /** The time the signature was judged at. */
  readonly nowMs: number;
}

/**
 * Claims the signature (if any), writes the batch, and answers 202 with the ids in order. When a
 * message was delayed, `deliverAt` lists each message's due time (ms since the epoch; null for one
 * written to the stream at once) and `scheduled` counts them; the id of a delayed message is its
 * schedule id.
 */
export async function writeMessages(context: PublishContext, write: PublishWrite): Promise<PublishResponse> {
  const { topic, signature, nowMs } = write;
  // Everything is checked: only now is the signature claimed, so a refusal writes nothing.
  const release = signature
    ? await claimSignature(context.driver, topic, signature, {
        nowMs,
        toleranceSeconds: context.settings.signatureToleranceSeconds,
        claimId: randomUUID(),
      })
    : undefined;
  let results: PublishResult[];
  try {
    results = await publishBatch(context.driver, topic, write.messages, {
      ...context.publishOptions.get(topic),
      idempotencyKey: write.batchKey,
    });
  } catch (error) {
    // Not published (or not known to be): give the claim back, so that a retry of the same
    // signed bytes is not refused as a replay. Best effort — Redis may be what failed.
    await release?.().catch(() => {});
    throw error;
  }
  return jsonAnswer(202, {
    topic,
    ids: results.map((r) => r.id),
    // On a partitioned topic ids are unique per partition: say which one each went to.
    ...(results[0]?.partition === undefined ? {} : { partitions: results.map((r) => r.partition) }),
    duplicates: results.filter((r) => r.duplicate).length,
    // A delayed message has no stream entry yet: its id is a schedule id, due at deliverAt.
    ...(results.some((r) => r.scheduled)
      ? {
          scheduled: results.filter((r) => r.scheduled).length,
          deliverAt: results.map((r) => r.deliverAt ?? null),
        }
      : {}),
  });
}
