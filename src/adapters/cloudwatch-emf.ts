/**
 * CloudWatch Embedded Metric Format: one JSON line per cycle that CloudWatch Logs turns into
 * metrics (no API call, no SDK). Dimensions: Topic (the stream) and Group.
 */
import type { DrainReport } from '../consume/drain.js';

export const METRICS_NAMESPACE = 'Sluice';

/** The EMF document of a drain report. */
export function emfDocument(report: DrainReport, namespace = METRICS_NAMESPACE, timestamp = Date.now()) {
  const values = {
    Lag: report.lag ?? 0,
    Pending: report.pending ?? 0,
    Processed: report.acked,
    Failed: report.failed,
    DeadLettered: report.deadLettered,
    Reclaimed: report.reclaimed,
    LostToTrim: report.lostToTrim + report.droppedUnconsumed,
    Duration: report.durationMs,
    Errors: report.stoppedBy === 'error' ? 1 : 0,
  };
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [['Topic', 'Group']],
          Metrics: Object.keys(values).map((name) => ({
            Name: name,
            Unit: name === 'Duration' ? 'Milliseconds' : 'Count',
          })),
        },
      ],
    },
    Topic: report.stream,
    Group: report.group,
    ...values,
    stoppedBy: report.stoppedBy,
  };
}
