/** What the page shows now: a section per topic and a card per group, by name. */
import type { GroupStats, TopicStats } from './types.js';

/** One poll of a group, for its chart. */
export interface Point {
  readonly t: number;
  readonly lag: number | null;
  readonly pending: number;
}

export interface Section {
  readonly node: HTMLElement;
  readonly list: HTMLElement;
  update: (stats: TopicStats) => void;
}

export interface Card {
  readonly node: HTMLElement;
  readonly history: Point[];
  /** When the last poll was measured. */
  at: number;
  /** Dead letters at the last load; -1 before the first. */
  total: number;
  fetchedAt: number;
  loading: boolean;
  /** The cursor of each page from the newest to the one shown. */
  starts: (string | null)[];
  next: string | null;
  /** Ids of the rows opened. */
  readonly open: Set<string>;
  reset: () => void;
  redraw: () => void;
  load: () => Promise<void>;
  update: (g: GroupStats, measuredAt: number) => void;
}

/** Topic sections by the topic's label. */
export const sections = new Map<string, Section>();
/** Group cards by `<topic label>\0<group>`. */
export const cards = new Map<string, Card>();
