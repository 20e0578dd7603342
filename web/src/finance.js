// Statements for a month (invoices for buyers, payouts for suppliers, both
// and the trial balance for finance), and exports downloaded with progress.
import { api, download } from './api.js';
import { $, fillTable, say } from './dom.js';
import { usd } from './format.js';

export class FinanceView {
  constructor(role) {
    this.role = role;
  }

  channels() {
    return [];
  }

  start() {
    const now = new Date();
    const month = now.toISOString().slice(0, 7);
    $('#month').value = month;
    $('#export-from').value = `${month}-01`;
    $('#export-to').value = new Date(now.getTime() + 86400000).toISOString().slice(0, 10);
    $('#month-form').onsubmit = (event) => {
      event.preventDefault();
      this.load();
    };
    $('#export-form').onsubmit = (event) => {
      event.preventDefault();
      this.export();
    };
    const platform = this.role === 'finance' || this.role === 'operator';
    $('#trial-card').hidden = !platform;
    return this.load();
  }

  onEvent() {}

  async load() {
    const month = $('#month').value;
    const platform = this.role === 'finance' || this.role === 'operator';
    const statements = (kind, table) => api('GET', `/v1/billing/${kind}?month=${month}`)
      .then((answer) => fillTable(table, answer.statements, (s) => [
        s.account_name ? `${s.account_id} (${s.account_name})` : s.account_id,
        usd(s.charges_micros), usd(s.credits_micros), usd(s.fees_micros), usd(s.total_micros)],
      'No statements this month.'))
      .catch((error) => fillTable(table, [], () => [], error.message));
    const work = [];
    if (platform || this.role === 'buyer') work.push(statements('invoices', $('#invoices')));
    if (platform || this.role === 'supplier') work.push(statements('payouts', $('#payouts')));
    if (platform) {
      work.push(api('GET', '/v1/ledger/trial-balance').then((answer) => {
        fillTable($('#trial'), answer.accounts, (a) => [a.account, a.count, usd(a.balance_micros)]);
        $('#trial-total').textContent =
          `Sum of all balances: ${usd(answer.total_micros)} over ${answer.transactions} transactions ` +
          `(zero when the ledger balances).`;
      }).catch((error) => say(error.message, true)));
    }
    await Promise.all(work);
  }

  async export() {
    const form = new FormData($('#export-form'));
    const format = form.get('format');
    const path = `/v1/billing/export?format=${format}&from=${form.get('from')}&to=${form.get('to')}`;
    const progress = $('#export-progress');
    const state = $('#export-state');
    const link = $('#export-link');
    progress.hidden = false;
    progress.removeAttribute('value');
    link.hidden = true;
    state.textContent = 'Exporting…';
    try {
      const blob = await download(path, (bytes) => {
        state.textContent = `Received ${(bytes / 1024).toFixed(1)} KiB…`;
      });
      progress.value = 1;
      progress.max = 1;
      const name = `spotgrid-${format}-${form.get('from')}-${form.get('to')}.${format === 'json' ? 'json' : 'csv'}`;
      if (link.href) URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(blob);
      link.download = name;
      link.hidden = false;
      link.textContent = `Save ${name} (${(blob.size / 1024).toFixed(1)} KiB)`;
      state.textContent = `Export ready: ${blob.size} bytes.`;
      link.click();
    } catch (error) {
      progress.hidden = true;
      state.textContent = '';
      say(error.message, true);
    }
  }
}
