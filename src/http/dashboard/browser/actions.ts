/** Redrive and Purge (Purge after a confirmation), from a group's card or an opened message. */
import { AuthError, api } from './api.js';
import { $ } from './dom.js';
import { count, path, plural } from './format.js';
import { forget, notify, pollSoon } from './session.js';
import { cards } from './state.js';
import type { PurgeAnswer, RedriveAnswer } from './types.js';

// A button's action: busy while it runs; a refusal is shown, a 401 signs out.
async function act(button: HTMLButtonElement, busy: string, failure: string, work: () => Promise<void>) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = busy;
  try {
    await work();
  } catch (error) {
    if (error instanceof AuthError) return forget(error.message);
    notify('error', `${failure} failed: ${(error as Error).message}`);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

function refreshCard(topic: string, group: string): void {
  const card = cards.get(`${topic}\u0000${group}`);
  if (card) card.reset();
  pollSoon();
}

/** What a redrive did, in words. */
function redriveSummary(topic: string, group: string, report: RedriveAnswer): string {
  const c = report.counts;
  const parts: string[] = [];
  if (c.pending) parts.push(`${c.pending} back to pending`);
  if (c.unread) parts.push(`${c.unread} still unread`);
  if (c.appended) parts.push(`${c.appended} re-appended`);
  if (c.blocked) parts.push(`${c.blocked} blocked until other groups catch up`);
  if (c.missing) parts.push(`${c.missing} already gone`);
  if (c.invalid) parts.push(`${c.invalid} without a source to redrive`);
  const noun = report.redriven === 1 ? ' dead letter' : ' dead letters';
  return `${group} on ${topic}: ${report.redriven}${noun} redriven${parts.length ? ` (${parts.join(', ')})` : ''}; ${report.remaining} left.`;
}

/** Redrives the group's dead letters (`ids`, or all of them). */
export function redriveMessages(
  topic: string,
  group: string,
  ids: string[] | undefined,
  button: HTMLButtonElement,
): Promise<void> {
  return act(button, 'Redriving…', `Redrive of ${group} on ${topic}`, async () => {
    const report = await api<RedriveAnswer>(path(topic, group, 'redrive'), {
      method: 'POST',
      body: JSON.stringify(ids ? { ids } : {}),
    });
    notify(report.redriven > 0 ? 'ok' : 'error', redriveSummary(topic, group, report));
    refreshCard(topic, group);
  });
}

// Purging deletes for good (and a replay delivers again), so it asks first (a modal dialog: Cancel is the default).
export function confirmDanger(text: string, action: string): Promise<boolean> {
  const dialog = $<HTMLDialogElement>('confirm');
  const ok = $('confirm-ok');
  const cancel = $('confirm-cancel');
  $('confirm-text').textContent = text;
  ok.textContent = action;
  return new Promise((resolve) => {
    const done = (sure: boolean) => {
      ok.onclick = cancel.onclick = dialog.oncancel = null;
      dialog.close();
      resolve(sure);
    };
    ok.onclick = () => done(true);
    cancel.onclick = () => done(false);
    dialog.oncancel = (event) => {
      event.preventDefault();
      done(false);
    };
    dialog.showModal();
    cancel.focus();
  });
}

/** Purges the group's dead letters (`ids`, or all `total` of them), once confirmed. */
export async function purgeMessages(
  topic: string,
  group: string,
  ids: string[] | undefined,
  total: number,
  button: HTMLButtonElement,
): Promise<void> {
  const what = ids ? 'this dead letter' : `all ${plural(total, 'dead letter')}`;
  const sure = await confirmDanger(
    `Delete ${what} of ${group} on ${topic} for good? ${ids ? 'It' : 'They'} cannot be redriven afterwards.`,
    ids ? 'Purge' : `Purge ${count(total)}`,
  );
  if (!sure) return;
  await act(button, 'Purging…', `Purge of ${group} on ${topic}`, async () => {
    const report = await api<PurgeAnswer>(path(topic, group, 'purge'), {
      method: 'POST',
      body: JSON.stringify(ids ? { ids } : { all: true }),
    });
    notify(
      'ok',
      `${group} on ${topic}: ${plural(report.purged, 'dead letter')} purged; ${report.remaining} left.`,
    );
    refreshCard(topic, group);
  });
}
