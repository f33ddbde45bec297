/**
 * Replay a group from a time: the time is asked, a dry run counts what would be delivered again,
 * a confirmation shows the count, and only then the group is moved (`POST …/replay`).
 */

import { confirmDanger } from './actions.js';
import { AuthError, api } from './api.js';
import { el } from './dom.js';
import { count, path } from './format.js';
import { forget, historySoon, notify } from './session.js';
import type { ReplayAnswer } from './types.js';

/** `yyyy-mm-ddThh:mm` of a time in the browser's zone (what a datetime-local input holds). */
function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function replayForm(
  topic: string,
  group: string,
): { button: HTMLButtonElement; form: HTMLFormElement } {
  const button = el('button', {
    class: 'small ghost',
    type: 'button',
    'data-action': 'replay',
    text: 'Replay…',
  });
  const when = el('input', { type: 'datetime-local', 'aria-label': 'replay from', required: true });
  const count_ = el('button', {
    class: 'small',
    type: 'submit',
    'data-action': 'replay-count',
    text: 'Count and replay',
  });
  const cancel = el('button', { class: 'small ghost', type: 'button', text: 'Cancel' });
  const form = el(
    'form',
    { class: 'replay', hidden: true },
    el('label', {}, 'Deliver again from ', when),
    count_,
    cancel,
  );
  button.addEventListener('click', () => {
    when.value = localInput(Date.now() - 3_600_000);
    form.hidden = false;
    when.focus();
  });
  cancel.addEventListener('click', () => {
    form.hidden = true;
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const from = new Date(when.value).getTime();
    if (Number.isFinite(from)) void replayFrom(topic, group, from, count_, () => (form.hidden = true));
  });
  return { button, form };
}

async function replayFrom(
  topic: string,
  group: string,
  from: number,
  button: HTMLButtonElement,
  done: () => void,
): Promise<void> {
  const route = path(topic, group, 'replay');
  const label = button.textContent;
  button.disabled = true;
  button.textContent = 'Counting…';
  try {
    const plan = await api<ReplayAnswer>(route, {
      method: 'POST',
      body: JSON.stringify({ from, dryRun: true }),
    });
    const entries = plan.exact ? count(plan.entries) : `more than ${count(plan.entries - 1)}`;
    const sure = await confirmDanger(
      `Move ${group} on ${topic} back to ${new Date(from).toLocaleString()}? ${entries} of ${count(plan.length)} messages will be delivered to it again${plan.pending ? ` (its ${count(plan.pending)} pending stay pending)` : ''}.`,
      `Replay ${entries}`,
    );
    if (!sure) return;
    button.textContent = 'Replaying…';
    const report = await api<ReplayAnswer>(route, { method: 'POST', body: JSON.stringify({ from }) });
    notify(
      'ok',
      `${group} on ${topic}: moved back to ${report.from}; ${count(report.entries)} messages will be delivered again.`,
    );
    done();
    historySoon();
  } catch (error) {
    if (error instanceof AuthError) return forget(error.message);
    notify('error', `Replay of ${group} on ${topic} failed: ${(error as Error).message}`);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}
