// The account's own keys (create with a scope and a lifetime, rotate with a
// grace, revoke; a new secret shown once, here) and, for a supplier, payouts:
// what is payable now, a payout on request, the daily schedule.
import { api, oneWrite } from './api.js';
import { $, button, fillTable, say, attempt } from './dom.js';
import { usd, micros, time } from './format.js';

export class AccountView {
  constructor(role) {
    this.role = role;
  }

  channels() {
    return [];
  }

  onEvent() {}

  start() {
    this.creating = oneWrite($('#key-form button[type="submit"]'));
    this.paying = oneWrite($('#payout-form button[type="submit"]'));
    $('#key-form').onsubmit = (event) => {
      event.preventDefault();
      this.createKey();
    };
    $('#payouts-card').hidden = this.role !== 'supplier';
    $('#payout-form').onsubmit = (event) => {
      event.preventDefault();
      this.payOut();
    };
    $('#schedule-form').onsubmit = (event) => {
      event.preventDefault();
      this.schedule();
    };
    return this.load();
  }

  // A secret the server shows once: on the page until the next one, nowhere else.
  showSecret(what, secret) {
    $('#key-secret').hidden = false;
    $('#key-secret-what').textContent = what;
    $('#key-secret-value').textContent = secret;
  }

  async createKey() {
    const form = new FormData($('#key-form'));
    const body = { label: String(form.get('label')).trim(), scope: form.get('scope') };
    const days = String(form.get('days') || '').trim();
    if (days !== '') body.expires_in_days = Number(days);
    try {
      const key = await this.creating(
        (idempotencyKey) => api('POST', '/v1/keys', body, { idempotencyKey }));
      if (!key) return;
      this.showSecret(`New key ${key.key_id}`, key.api_key);
      say(`Key ${key.key_id} created: copy it now, it is not shown again.`);
      $('#key-form').reset();
      this.load();
    } catch (error) {
      say(error.message, true);
    }
  }

  async rotate(keyId) {
    await attempt(async () => {
      const key = await api('POST', `/v1/keys/${keyId}/rotate`, {});
      this.showSecret(`Key ${key.key_id}, replacing ${keyId}`, key.api_key);
      say(`Key ${keyId} rotated: the old one works for ${key.old_key_expires_in_seconds} s more.`);
      this.load();
    });
  }

  async revoke(keyId) {
    await attempt(async () => {
      await api('DELETE', `/v1/keys/${keyId}`);
      say(`Key ${keyId} revoked.`);
      this.load();
    });
  }

  async payOut() {
    const amount = micros(new FormData($('#payout-form')).get('amount'));
    if (amount === null || amount <= 0) return say('Enter an amount in USD, like 25.00.', true);
    try {
      const payout = await this.paying(
        (key) => api('POST', '/v1/account/payouts', { amount_micros: amount }, { idempotencyKey: key }));
      if (!payout) return;
      say(`Paid out ${usd(payout.amount_micros)}: reference ${payout.reference}.`);
      $('#payout-form').reset();
      this.load();
    } catch (error) {
      say(error.message, true);
    }
  }

  async schedule() {
    const form = new FormData($('#schedule-form'));
    const daily = form.get('daily') === 'on';
    const body = { daily };
    if (daily) {
      body.minimum_micros = micros(String(form.get('minimum') || '0'));
      if (body.minimum_micros === null) return say('Enter the minimum in USD, like 10.00.', true);
    }
    await attempt(async () => {
      await api('PUT', '/v1/account/payout-schedule', body);
      say(daily ? 'Earnings are paid out each UTC midnight.' : 'Daily payouts stopped.');
      this.load();
    });
  }

  async load() {
    try {
      const [keys, account] = await Promise.all([api('GET', '/v1/keys'), api('GET', '/v1/account')]);
      fillTable($('#keys'), keys.keys, (k) => {
        const usable = !k.revoked_at;
        return [
          k.key_id + (k.this_key ? ' (this session)' : ''), k.label, k.scope, time(k.created_at),
          time(k.expires_at), k.revoked_at ? `revoked ${time(k.revoked_at)}` : time(k.last_used_at),
          k.last_used_from || '',
          usable ? button('Rotate', () => this.rotate(k.key_id), { 'aria-label': `Rotate key ${k.key_id}` }) : '',
          usable && !k.this_key
            ? button('Revoke', () => this.revoke(k.key_id), { 'aria-label': `Revoke key ${k.key_id}` }) : '',
        ];
      }, 'No keys.');
      if (this.role === 'supplier') {
        $('#payable').textContent = `Payable now: ${usd(account.payable_micros, 6)}` +
          ` (earned ${usd(account.receivable_micros, 6)}, less what running leases may still` +
          ' credit back; payouts move whole cents).';
        const plan = account.payout_schedule || {};
        $('#schedule-daily').checked = Boolean(plan.daily);
        $('#schedule-state').textContent = plan.daily
          ? `Paid out daily above ${usd(plan.minimum_micros)}.` : 'No daily payout.';
      }
    } catch (error) {
      say(error.message, true);
    }
  }
}
