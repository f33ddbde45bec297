/** The summary tiles and a section per topic, drawn from each poll's statistics. */
import { $, el } from './dom.js';
import { count, duration, label } from './format.js';
import { groupCard } from './group-card.js';
import { cards, type Section, sections } from './state.js';
import type { StatsAnswer, TopicStats } from './types.js';

function tile(name: string): { node: HTMLElement; value: HTMLElement } {
  const value = el('div', { class: 'value', text: '—' });
  const node = el(
    'div',
    { class: 'card tile', 'data-summary': name },
    el('div', { class: 'label', text: name }),
    value,
  );
  $('summary').append(node);
  return { node, value };
}

const tiles = {
  topics: tile('Topics'),
  groups: tile('Groups'),
  lag: tile('Lag'),
  pending: tile('Pending'),
  oldest: tile('Oldest pending'),
  dead: tile('Dead letters'),
};

/** Sums over every group, for the tiles. */
interface Totals {
  groups: number;
  lag: number;
  pending: number;
  dead: number;
  oldest: number | null;
  lagKnown: boolean;
}

/** Updates a topic's section and its group cards (made, moved or updated in place); adds to `totals`. */
function renderTopic(stats: TopicStats, index: number, totals: Totals, seenCards: Set<string>): string {
  const name = label(stats);
  const section = topicSection(name, index);
  section.update(stats);
  stats.groups.forEach((g, gi) => {
    const key = `${name}\u0000${g.name}`;
    seenCards.add(key);
    let card = cards.get(key);
    if (!card) {
      card = groupCard(name, g.name);
      cards.set(key, card);
    }
    if (section.list.children[gi] !== card.node)
      section.list.insertBefore(card.node, section.list.children[gi] || null);
    card.update(g, stats.measuredAt);
    totals.groups += 1;
    totals.pending += g.pending;
    totals.dead += g.deadLetters;
    if (g.lag === null) totals.lagKnown = false;
    else totals.lag += g.lag;
    if (g.oldestPendingAgeMs !== null) totals.oldest = Math.max(totals.oldest || 0, g.oldestPendingAgeMs);
  });
  return name;
}

/** Draws one poll: the tiles, the topics' sections; what is gone from the statistics is removed. */
export function render(data: StatsAnswer): void {
  $('loading').hidden = true;
  $('summary').hidden = false;
  const seenTopics = new Set<string>();
  const seenCards = new Set<string>();
  const totals: Totals = { groups: 0, lag: 0, pending: 0, dead: 0, oldest: null, lagKnown: true };
  data.topics.forEach((stats, index) => {
    seenTopics.add(renderTopic(stats, index, totals, seenCards));
  });
  for (const [key, card] of cards)
    if (!seenCards.has(key)) {
      card.node.remove();
      cards.delete(key);
    }
  for (const [key, section] of sections)
    if (!seenTopics.has(key)) {
      section.node.remove();
      sections.delete(key);
    }
  tiles.topics.value.textContent = count(data.topics.length);
  tiles.groups.value.textContent = count(totals.groups);
  tiles.lag.value.textContent = count(totals.lag) + (totals.lagKnown ? '' : '+');
  tiles.pending.value.textContent = count(totals.pending);
  tiles.oldest.value.textContent = duration(totals.oldest);
  tiles.dead.value.textContent = count(totals.dead);
  tiles.dead.node.classList.toggle('bad', totals.dead > 0);
}

/** The topic's delayed messages: how many wait outside the stream, and when the earliest is due. */
function scheduledFacts(stats: TopicStats): HTMLElement[] {
  const facts = [
    el('span', { 'data-fact': 'scheduled' }, 'scheduled ', el('b', { text: count(stats.scheduled) })),
  ];
  if (stats.nextDueAt !== null) {
    const inMs = stats.nextDueAt - stats.measuredAt;
    const when = inMs > 0 ? `in ${duration(inMs)}` : 'now';
    facts.push(el('span', { 'data-fact': 'next-due' }, 'next due ', el('b', { text: when })));
  }
  return facts;
}

function newSection(name: string): Section {
  const key = el('code');
  const facts = el('div', { class: 'facts' });
  const empty = el('p', { class: 'empty card group' });
  const list = el('div', { class: 'groups' });
  const node = el(
    'section',
    { class: 'topic', 'data-topic': name },
    el(
      'div',
      { class: 'topic-head' },
      el('h2', {}, el('span', { class: 'kind', text: 'topic' }), name),
      key,
      facts,
    ),
    list,
    empty,
  );
  const update = (stats: TopicStats) => {
    key.textContent = stats.stream;
    facts.replaceChildren(
      el('span', {}, 'length ', el('b', { text: count(stats.length) })),
      el('span', {}, 'groups ', el('b', { text: count(stats.groups.length) })),
      el('span', {}, 'last id ', el('code', { text: stats.lastId || '—' })),
      ...scheduledFacts(stats),
    );
    empty.hidden = stats.exists && stats.groups.length > 0;
    empty.textContent = stats.exists
      ? 'No consumer groups yet: the first drain cycle creates its group.'
      : 'No stream yet: nothing has been published to this topic.';
  };
  return { node, list, update };
}

/** The topic's section (made the first time), at position `index` among the topics. */
function topicSection(name: string, index: number): Section {
  let section = sections.get(name);
  if (!section) {
    section = newSection(name);
    sections.set(name, section);
  }
  const container = $('topics');
  if (container.children[index] !== section.node)
    container.insertBefore(section.node, container.children[index] || null);
  return section;
}
