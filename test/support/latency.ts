/**
 * Timing margins measured on the run, not guessed: how long a round trip through a driver and a
 * short timer take on this machine right now. A deadline check then allows the deadline plus the
 * few round trips the cycle still makes after it, so a busy machine passes, while a cycle late by
 * half a second still fails.
 */
import type { Driver } from '../../src/core/driver.js';

export interface Latency {
  /** The slowest of the sampled no-op round trips through the driver. */
  readonly roundTripMs: number;
  /** The most a 10 ms timer fired late in the samples (event-loop and scheduler delay). */
  readonly timerLagMs: number;
}

/** The most slack any timing check allows: a cycle late by 400 ms must always fail. */
export const MAX_SLACK_MS = 350;

/** One no-op round trip through `driver` (a script on `key`, routed like the drain's own commands on a cluster). */
async function roundTrip(driver: Driver, key: string): Promise<number> {
  const sent = performance.now();
  await driver.eval('return 1', [key], []);
  return performance.now() - sent;
}

/** How late a `ms` timer fires. */
async function timerLag(ms: number): Promise<number> {
  const armed = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return Math.max(0, performance.now() - armed - ms);
}

function latencyOf(roundTripMs: number, timerLagMs: number): Latency {
  return { roundTripMs: Math.ceil(roundTripMs), timerLagMs: Math.ceil(timerLagMs) };
}

/** Samples `samples` round trips through `driver` and as many 10 ms timers; answers the slowest of each. */
export async function measureLatency(driver: Driver, key: string, samples = 5): Promise<Latency> {
  let roundTripMs = 0;
  let timerLagMs = 0;
  for (let i = 0; i < samples; i++) {
    roundTripMs = Math.max(roundTripMs, await roundTrip(driver, key));
    timerLagMs = Math.max(timerLagMs, await timerLag(10));
  }
  return latencyOf(roundTripMs, timerLagMs);
}

/**
 * Keeps sampling while the timed work runs — round trips through `driver` (give it a driver of its
 * own, so its commands neither wait behind the work's nor delay them) and 10 ms timers — because a
 * busy machine stalls in bursts a measurement taken before can miss. `stop()` answers the slowest
 * of each, seen before (`baseline`) or during.
 */
export function probeLatency(driver: Driver, key: string, baseline: Latency) {
  let running = true;
  let { roundTripMs, timerLagMs } = baseline;
  const loops = [
    (async () => {
      while (running) timerLagMs = Math.max(timerLagMs, await timerLag(10));
    })(),
    (async () => {
      while (running) {
        roundTripMs = Math.max(roundTripMs, await roundTrip(driver, key));
        await timerLag(20);
      }
    })(),
  ];
  return {
    async stop(): Promise<Latency> {
      running = false;
      await Promise.allSettled(loops);
      return latencyOf(roundTripMs, timerLagMs);
    },
  };
}

/**
 * The slack past a deadline for work of `roundTrips` commands: each counted twice, the timer lag
 * three times (the deadline's own timer, the handler's, the caller's), 50 ms besides; at most
 * {@link MAX_SLACK_MS}.
 */
export function slackMs({ roundTripMs, timerLagMs }: Latency, roundTrips: number): number {
  return Math.min(MAX_SLACK_MS, 50 + 2 * roundTrips * roundTripMs + 3 * timerLagMs);
}

/** How the slack was reached, for failure messages. */
export function describeSlack(latency: Latency, roundTrips: number): string {
  return `slack ${slackMs(latency, roundTrips)} ms from ${roundTrips} round trips of ${latency.roundTripMs} ms and a timer lag of ${latency.timerLagMs} ms`;
}
