/**
 * The dashboard script's group cards: metrics, chart, and the dead letters (newest first, paged,
 * a row opens to the full message; Redrive and Purge, Purge after a confirmation). A fragment of the
 * page's one script (see dashboard.ts), sharing its scope.
 */
export const GROUPS_SCRIPT = String.raw`
  function metric(name, label, note) {
    const value = el('div', { class: 'metric-value', text: '—' });
    const node = el(
      'div',
      { class: 'metric', 'data-metric': name },
      el('div', { class: 'metric-label', text: label }),
      value,
      el('div', { class: 'metric-note', text: note }),
    );
    return { node, value };
  }
  const plural = (n, one) => count(n) + ' ' + one + (n === 1 ? '' : 's');

  // One word for where the group stands; the numbers are the metrics' (one number per idea).
  function standing(g) {
    if (g.lag === null) return ['', 'lag unknown'];
    if (g.lag > 0) return ['warn', 'behind'];
    return g.pending > 0 ? ['', 'in progress'] : ['ok', 'caught up'];
  }

  function groupCard(topic, group) {
    const metrics = {
      lag: metric('lag', 'Lag', 'published, not yet read'),
      pending: metric('pending', 'Pending', 'read, not yet acknowledged'),
      oldest: metric('oldestPendingAge', 'Oldest pending', 'age of the oldest pending'),
      consumers: metric('consumers', 'Consumers', 'known to the group'),
      dead: metric('deadLetters', 'Dead letters', 'given up on, kept for redrive'),
    };
    const badge = el('span', { class: 'badge', 'data-role': 'standing' });
    const where = el('span', { class: 'where mono' });
    const chart = svg('svg', { viewBox: '0 0 640 176', role: 'img', 'aria-label': 'lag and pending over time', 'data-points': 0 });
    const legendLag = el('b');
    const legendPending = el('b');
    const dlqCount = el('span', { class: 'badge' });
    const redriveAll = el('button', { class: 'small', type: 'button', 'data-action': 'redrive-group' });
    const purgeAll = el('button', { class: 'small danger', type: 'button', 'data-action': 'purge-group', text: 'Purge all' });
    const dlqBody = el('div', { class: 'dlq-body' });
    const position = el('span', { class: 'position' });
    const newer = el('button', { class: 'small ghost', type: 'button', 'data-action': 'newer', text: '‹ Newer' });
    const older = el('button', { class: 'small ghost', type: 'button', 'data-action': 'older', text: 'Older ›' });
    const pager = el('div', { class: 'pager' }, position, newer, older);
    const node = el(
      'article',
      { class: 'card group', 'data-topic': topic, 'data-group': group },
      el('header', { class: 'group-head' }, el('h3', { text: group }), badge, where),
      el(
        'div',
        { class: 'group-body' },
        el('div', { class: 'metrics' }, ...Object.values(metrics).map((m) => m.node)),
        el(
          'figure',
          { class: 'chart' },
          chart,
          el(
            'figcaption',
            { class: 'legend' },
            el('span', { class: 'lag' }, el('i'), 'lag ', legendLag),
            el('span', { class: 'pending' }, el('i'), 'pending ', legendPending),
          ),
        ),
      ),
      el(
        'div',
        { class: 'dlq' },
        el('div', { class: 'dlq-head' }, el('h4', { text: 'Dead letters' }), dlqCount, el('div', { class: 'dlq-actions' }, redriveAll, purgeAll)),
        dlqBody,
        pager,
      ),
    );
    // starts: the cursor of each page from the newest to the one shown; open: ids of opened rows.
    const card = { node, history: [], at: 0, total: -1, fetchedAt: 0, loading: false, starts: [null], next: null, open: new Set() };
    card.reset = () => {
      card.starts = [null];
      card.total = -1;
    };
    card.redraw = () => drawChart(chart, card.history, card.at);
    card.load = () => loadDeadLetters(card, topic, group, dlqBody, position, newer, older);
    redriveAll.addEventListener('click', () => redriveMessages(topic, group, undefined, redriveAll));
    purgeAll.addEventListener('click', () => purgeMessages(topic, group, undefined, card.total, purgeAll));
    newer.addEventListener('click', () => {
      if (card.starts.length > 1) card.starts.pop();
      card.load();
    });
    older.addEventListener('click', () => {
      if (!card.next) return;
      card.starts.push(card.next);
      card.load();
    });

    card.update = (g, measuredAt) => {
      const last = card.history[card.history.length - 1];
      if (!last || last.t !== measuredAt) card.history.push({ t: measuredAt, lag: g.lag, pending: g.pending });
      if (card.history.length > MAX_POINTS) card.history.splice(0, card.history.length - MAX_POINTS);
      card.at = measuredAt;
      metrics.lag.value.textContent = count(g.lag);
      metrics.pending.value.textContent = count(g.pending);
      metrics.oldest.value.textContent = duration(g.oldestPendingAgeMs);
      metrics.consumers.value.textContent = count(g.consumers);
      metrics.dead.value.textContent = count(g.deadLetters);
      metrics.dead.node.classList.toggle('bad', g.deadLetters > 0);
      metrics.lag.node.classList.toggle('warn', g.lag > 0);
      metrics.oldest.node.classList.toggle('warn', g.oldestPendingIdleMs !== null && g.oldestPendingIdleMs > 60000);
      legendLag.textContent = count(g.lag);
      legendPending.textContent = count(g.pending);
      where.textContent = 'last delivered ' + g.lastDeliveredId;
      const [kind, word] = standing(g);
      badge.className = 'badge ' + kind;
      badge.textContent = word;
      dlqCount.textContent = count(g.deadLetters);
      dlqCount.className = 'badge' + (g.deadLetters > 0 ? ' bad' : '');
      redriveAll.hidden = purgeAll.hidden = g.deadLetters === 0;
      redriveAll.textContent = 'Redrive all ' + count(g.deadLetters);
      card.redraw();
      if (g.deadLetters === 0) {
        card.reset();
        card.total = 0;
        pager.hidden = true;
        dlqBody.replaceChildren(el('p', { class: 'empty', text: 'No dead letters.' }));
      } else if (card.total !== g.deadLetters || Date.now() - card.fetchedAt > 30000) {
        card.total = g.deadLetters;
        pager.hidden = false;
        void card.load();
      }
    };
    return card;
  }

  async function loadDeadLetters(card, topic, group, into, position, newer, older) {
    if (card.loading) return;
    card.loading = true;
    try {
      const start = card.starts[card.starts.length - 1];
      const query = 'order=newest&count=' + PAGE + (start ? '&start=' + encodeURIComponent(start) : '');
      const page = await api(withQuery(path(topic, group, 'dead-letters'), query));
      if (page.deadLetters.length === 0 && card.starts.length > 1) {
        card.starts = [null]; // the dead letters of this page are gone: back to the newest
        card.loading = false;
        return card.load();
      }
      card.fetchedAt = Date.now();
      card.next = page.next;
      const first = (card.starts.length - 1) * PAGE;
      position.textContent = count(first + 1) + '–' + count(first + page.deadLetters.length) + ' of ' + count(page.total) + ', newest first';
      newer.disabled = card.starts.length === 1;
      older.disabled = !page.next;
      newer.hidden = older.hidden = newer.disabled && older.disabled;
      into.replaceChildren(deadLetterTable(card, topic, group, page));
    } catch (error) {
      if (error instanceof AuthError) return forget(error.message);
      into.replaceChildren(el('p', { class: 'error', text: 'Dead letters could not be loaded: ' + error.message }));
    } finally {
      card.loading = false;
    }
  }

  const payloadOf = (letter) => (letter.format === 'sluice' ? letter.data : letter.fields);
  function preview(letter) {
    let text;
    try {
      text = JSON.stringify(payloadOf(letter));
    } catch {
      text = '';
    }
    return text && text.length > 120 ? text.slice(0, 119) + '…' : text || '';
  }

  // The whole message: where it came from, why it died, and its payload in full.
  function messageDetail(topic, group, letter) {
    const facts = [
      ['Dead-letter id', letter.id],
      ['Source', (letter.sourceStream || '—') + ' ' + (letter.sourceId || '')],
      ['Key', letter.key === undefined || letter.key === null ? '—' : letter.key],
      ['Dead-lettered at', letter.deadAt || '—'],
      ['Error', letter.error || '—'],
    ];
    const redrive = el('button', { class: 'small outline', type: 'button', 'data-action': 'redrive-one', text: 'Redrive' });
    const purge = el('button', { class: 'small danger', type: 'button', 'data-action': 'purge-one', text: 'Purge' });
    redrive.addEventListener('click', () => redriveMessages(topic, group, [letter.id], redrive));
    purge.addEventListener('click', () => purgeMessages(topic, group, [letter.id], 1, purge));
    return el(
      'div',
      { class: 'message' },
      el('dl', {}, ...facts.flatMap(([name, value]) => [el('dt', { text: name }), el('dd', { class: 'mono', text: value })])),
      el('div', { class: 'payload-head' }, el('b', { text: letter.format === 'sluice' ? 'Payload' : 'Fields' }), redrive, purge),
      el('pre', { class: 'payload-full mono', text: JSON.stringify(payloadOf(letter), null, 2) }),
    );
  }

  function deadLetterTable(card, topic, group, page) {
    if (page.deadLetters.length === 0) return el('p', { class: 'empty', text: 'No dead letters.' });
    const columns = [
      ['when', 'When'],
      ['reason', 'Reason'],
      ['err', 'Error'],
      ['deliveries', 'Deliveries'],
      ['source', 'Source id'],
      ['payload', 'Payload'],
    ];
    const cols = el('colgroup', {}, ...columns.map(([name]) => el('col', { class: name })));
    const head = el('tr', {}, ...columns.map(([name, h]) => el('th', { class: name === 'deliveries' ? 'num' : null, text: h })));
    const body = el('tbody');
    for (const letter of page.deadLetters) {
      const reason = letter.reason || 'unknown';
      const row = el(
        'tr',
        { class: 'letter', 'data-id': letter.id, tabindex: 0, 'aria-expanded': 'false', title: 'open the full message' },
        el('td', { class: 'when', text: ago(letter.deadAt) }),
        el('td', { class: 'reason' }, el('span', { class: 'badge ' + (reason === 'permanent' ? 'bad' : 'warn'), text: reason })),
        el('td', { class: 'err mono' }, el('div', { text: letter.error || '—' })),
        el('td', { class: 'num deliveries', text: count(letter.deliveries) }),
        el('td', { class: 'source' }, el('code', { text: letter.sourceId || '—' })),
        el('td', { class: 'payload mono', text: preview(letter) }),
      );
      const detail = el('tr', { class: 'detail', 'data-detail': letter.id }, el('td', { colspan: columns.length }, messageDetail(topic, group, letter)));
      const show = (open) => {
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
      body.append(row, detail);
    }
    return el('div', { class: 'table-wrap' }, el('table', {}, cols, el('thead', {}, head), body));
  }

  // A button's action: busy while it runs; a refusal is shown, a 401 signs out.
  async function act(button, busy, failure, work) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = busy;
    try {
      await work();
    } catch (error) {
      if (error instanceof AuthError) return forget(error.message);
      notify('error', failure + ' failed: ' + error.message);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }
  function refreshCard(topic, group) {
    const card = cards.get(topic + '\u0000' + group);
    if (card) card.reset();
    pollSoon();
  }

  function redriveMessages(topic, group, ids, button) {
    return act(button, 'Redriving…', 'Redrive of ' + group + ' on ' + topic, async () => {
      const report = await api(path(topic, group, 'redrive'), { method: 'POST', body: JSON.stringify(ids ? { ids } : {}) });
      const c = report.counts;
      const parts = [];
      if (c.pending) parts.push(c.pending + ' back to pending');
      if (c.unread) parts.push(c.unread + ' still unread');
      if (c.appended) parts.push(c.appended + ' re-appended');
      if (c.blocked) parts.push(c.blocked + ' blocked until other groups catch up');
      if (c.missing) parts.push(c.missing + ' already gone');
      if (c.invalid) parts.push(c.invalid + ' without a source to redrive');
      const noun = report.redriven === 1 ? ' dead letter' : ' dead letters';
      notify(
        report.redriven > 0 ? 'ok' : 'error',
        group + ' on ' + topic + ': ' + report.redriven + noun + ' redriven' + (parts.length ? ' (' + parts.join(', ') + ')' : '') +
          '; ' + report.remaining + ' left.',
      );
      refreshCard(topic, group);
    });
  }

  // Purging deletes for good, so it asks first (a modal dialog: Cancel is the default).
  function confirmDanger(text, action) {
    const dialog = $('confirm');
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = action;
    return new Promise((resolve) => {
      const done = (ok) => {
        $('confirm-ok').onclick = $('confirm-cancel').onclick = dialog.oncancel = null;
        dialog.close();
        resolve(ok);
      };
      $('confirm-ok').onclick = () => done(true);
      $('confirm-cancel').onclick = () => done(false);
      dialog.oncancel = (event) => {
        event.preventDefault();
        done(false);
      };
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  async function purgeMessages(topic, group, ids, total, button) {
    const what = ids ? 'this dead letter' : 'all ' + plural(total, 'dead letter');
    const sure = await confirmDanger(
      'Delete ' + what + ' of ' + group + ' on ' + topic + ' for good? ' + (ids ? 'It' : 'They') + ' cannot be redriven afterwards.',
      ids ? 'Purge' : 'Purge ' + count(total),
    );
    if (!sure) return;
    await act(button, 'Purging…', 'Purge of ' + group + ' on ' + topic, async () => {
      const report = await api(path(topic, group, 'purge'), { method: 'POST', body: JSON.stringify(ids ? { ids } : { all: true }) });
      notify('ok', group + ' on ' + topic + ': ' + plural(report.purged, 'dead letter') + ' purged; ' + report.remaining + ' left.');
      refreshCard(topic, group);
    });
  }
`;
