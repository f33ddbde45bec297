/** Numbers, durations, times and names as the page shows them, and the paths of a group's routes. */
import type { TopicStats } from './types.js';

const numbers = new Intl.NumberFormat('en-US');
export const clock = new Intl.DateTimeFormat('en-GB', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export const count = (n: number | null | undefined): string =>
  n === null || n === undefined ? '—' : numbers.format(n);

export const plural = (n: number, one: string): string => `${count(n)} ${one}${n === 1 ? '' : 's'}`;

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function ago(iso: string | null | undefined): string {
  const t = Date.parse(iso || '');
  return Number.isNaN(t) ? '—' : `${duration(Math.max(0, Date.now() - t))} ago`;
}

/** A partition of a partitioned topic is shown as "orders [3]" (topic names hold no spaces or brackets). */
export const label = (stats: TopicStats): string =>
  (stats.topic === null ? stats.stream : stats.topic) +
  (stats.partition === undefined ? '' : ` [${stats.partition}]`);

/** The route of a group's `action`, for a topic as {@link label} shows it. */
export const path = (shown: string, group: string, action: string): string => {
  const m = /^(.*) \[(\d+)\]$/.exec(shown);
  const topic = m ? (m[1] as string) : shown;
  return `/topics/${encodeURIComponent(topic)}/groups/${encodeURIComponent(group)}/${action}${m ? `?partition=${m[2]}` : ''}`;
};

export const withQuery = (url: string, query: string): string =>
  url + (url.includes('?') ? '&' : '?') + query;
