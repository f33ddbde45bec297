/** A group's dead letters: a page (newest first, 20 a page), each row opening to the whole message. */
import { purgeMessages, redriveMessages } from './actions.js';
import { AuthError, api } from './api.js';
import { el } from './dom.js';
import { ago, count, path, withQuery } from './format.js';
import { forget } from './session.js';
import { PAGE } from './settings.js';
import type { Card } from './state.js';
import type { DeadLetter, DeadLetterPage } from './types.js';

/** Where a card's page of dead letters is shown. */
export interface DeadLetterView {
  readonly into: HTMLElement;
  readonly position: HTMLElement;
  readonly newer: HTMLButtonElement;
  readonly older: HTMLButtonElement;
}

export async function loadDeadLetters(card: Card, topic: string, group: string, view: DeadLetterView) {
  if (card.loading) return;
  card.loading = true;
  try {
    const start = card.starts[card.starts.length - 1];
    const query = `order=newest&count=${PAGE}${start ? `&start=${encodeURIComponent(start)}` : ''}`;
    const page = await api<DeadLetterPage>(withQuery(path(topic, group, 'dead-letters'), query));
    if (page.deadLetters.length === 0 && card.starts.length > 1) {
      card.starts = [null]; // the dead letters of this page are gone: back to the newest
      card.loading = false;
      return card.load();
    }
    card.fetchedAt = Date.now();
    card.next = page.next;
    const first = (card.starts.length - 1) * PAGE;
    view.position.textContent = `${count(first + 1)}–${count(first + page.deadLetters.length)} of ${count(page.total)}, newest first`;
    view.newer.disabled = card.starts.length === 1;
    view.older.disabled = !page.next;
    view.newer.hidden = view.older.hidden = view.newer.disabled && view.older.disabled;
    view.into.replaceChildren(deadLetterTable(card, topic, group, page));
  } catch (error) {
    if (error instanceof AuthError) return forget(error.message);
    view.into.replaceChildren(
      el('p', { class: 'error', text: `Dead letters could not be loaded: ${(error as Error).message}` }),
    );
  } finally {
    card.loading = false;
  }
}

const payloadOf = (letter: DeadLetter): unknown => (letter.format === 'sluice' ? letter.data : letter.fields);

function preview(letter: DeadLetter): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(payloadOf(letter));
  } catch {
    text = '';
  }
  return text && text.length > 120 ? `${text.slice(0, 119)}…` : text || '';
}

// The whole message: where it came from, why it died, and its payload in full.
function messageDetail(topic: string, group: string, letter: DeadLetter): HTMLElement {
  const facts = [
    ['Dead-letter id', letter.id],
    ['Source', `${letter.sourceStream || '—'} ${letter.sourceId || ''}`],
    ['Key', letter.key === undefined || letter.key === null ? '—' : letter.key],
    ['Dead-lettered at', letter.deadAt || '—'],
    ['Error', letter.error || '—'],
  ];
  const redrive = el('button', {
    class: 'small outline',
    type: 'button',
    'data-action': 'redrive-one',
    text: 'Redrive',
  });
  const purge = el('button', {
    class: 'small danger',
    type: 'button',
    'data-action': 'purge-one',
    text: 'Purge',
  });
  redrive.addEventListener('click', () => redriveMessages(topic, group, [letter.id], redrive));
  purge.addEventListener('click', () => purgeMessages(topic, group, [letter.id], 1, purge));
  return el(
    'div',
    { class: 'message' },
    el(
      'dl',
      {},
      ...facts.flatMap(([name, value]) => [
        el('dt', { text: name }),
        el('dd', { class: 'mono', text: value }),
      ]),
    ),
    el(
      'div',
      { class: 'payload-head' },
      el('b', { text: letter.format === 'sluice' ? 'Payload' : 'Fields' }),
      redrive,
      purge,
    ),
    el('pre', { class: 'payload-full mono', text: JSON.stringify(payloadOf(letter), null, 2) }),
  );
}

const COLUMNS = [
  ['when', 'When'],
  ['reason', 'Reason'],
  ['err', 'Error'],
  ['deliveries', 'Deliveries'],
  ['source', 'Source id'],
  ['payload', 'Payload'],
] as const;

/** A dead letter's row, and the row below it that opens to the whole message. */
function letterRows(card: Card, topic: string, group: string, letter: DeadLetter): HTMLElement[] {
  const reason = letter.reason || 'unknown';
  const row = el(
    'tr',
    {
      class: 'letter',
      'data-id': letter.id,
      tabindex: 0,
      'aria-expanded': 'false',
      title: 'open the full message',
    },
    el('td', { class: 'when', text: ago(letter.deadAt) }),
    el(
      'td',
      { class: 'reason' },
      el('span', { class: `badge ${reason === 'permanent' ? 'bad' : 'warn'}`, text: reason }),
    ),
    el('td', { class: 'err mono' }, el('div', { text: letter.error || '—' })),
    el('td', { class: 'num deliveries', text: count(letter.deliveries) }),
    el('td', { class: 'source' }, el('code', { text: letter.sourceId || '—' })),
    el('td', { class: 'payload mono', text: preview(letter) }),
  );
  const detail = el(
    'tr',
    { class: 'detail', 'data-detail': letter.id },
    el('td', { colspan: COLUMNS.length }, messageDetail(topic, group, letter)),
  );
  const show = (open: boolean) => {
    detail.hidden = !open;
    row.setAttribute('aria-expanded', String(open));
    if (open) card.open.add(letter.id);
    else card.open.delete(letter.id);
  };
  show(card.open.has(letter.id));
  row.addEventListener('click', () => show(detail.hidden));
  row.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' && event.key !== ' ') return;
    event.preventDefault();
    show(detail.hidden);
  });
  return [row, detail];
}

function deadLetterTable(card: Card, topic: string, group: string, page: DeadLetterPage): HTMLElement {
  if (page.deadLetters.length === 0) return el('p', { class: 'empty', text: 'No dead letters.' });
  const cols = el('colgroup', {}, ...COLUMNS.map(([name]) => el('col', { class: name })));
  const head = el(
    'tr',
    {},
    ...COLUMNS.map(([name, h]) => el('th', { class: name === 'deliveries' ? 'num' : null, text: h })),
  );
  const body = el('tbody');
  for (const letter of page.deadLetters) body.append(...letterRows(card, topic, group, letter));
  return el('div', { class: 'table-wrap' }, el('table', {}, cols, el('thead', {}, head), body));
}
