// An account's webhook endpoints: register one (its signing secret shown once,
// here, and never again), list and delete them, and read one's delivery log.
import { api, oneWrite } from './api.js';
import { $, element, button, fillTable, say, attempt } from './dom.js';
import { micros, time } from './format.js';

export const EVENT_TYPES = [
  'order.filled', 'order.cancelled', 'order.expired', 'lease.started', 'lease.reclaim_notice',
  'lease.interrupted', 'lease.ended', 'balance.low', 'payout.sent',
];

export class WebhooksView {
  channels() {
    return [];
  }

  onEvent() {}

  start() {
    this.registering = oneWrite($('#webhook-form button[type="submit"]'));
    $('#webhook-events').replaceChildren(...EVENT_TYPES.map((type) => {
      const label = element('label', null, { class: 'check' });
      label.append(element('input', null, { type: 'checkbox', name: 'events', value: type }),
                   ` ${type}`);
      return label;
    }));
    $('#webhook-form').onsubmit = (event) => {
      event.preventDefault();
      this.register();
    };
    return this.load();
  }

  async register() {
    const form = new FormData($('#webhook-form'));
    const body = { url: String(form.get('url')).trim(), events: form.getAll('events') };
    if (body.events.length === 0) return say('Choose at least one event.', true);
    const below = String(form.get('below') || '').trim();
    if (below !== '') {
      body.balance_low_micros = micros(below);
      if (body.balance_low_micros === null) return say('Enter the balance in USD, like 50.00.', true);
    }
    try {
      const endpoint = await this.registering(
        (key) => api('POST', '/v1/webhooks', body, { idempotencyKey: key }));
      if (!endpoint) return;
      // Shown once: the receiver verifies every delivery with it.
      $('#webhook-secret').hidden = false;
      $('#webhook-secret-value').textContent = endpoint.secret;
      say(`Endpoint ${endpoint.endpoint_id} registered: keep its signing secret now.`);
      $('#webhook-form').reset();
      this.load();
    } catch (error) {
      say(error.message, true);
    }
  }

  async remove(id) {
    await attempt(async () => {
      await api('DELETE', `/v1/webhooks/${id}`);
      say(`Endpoint ${id} deleted.`);
      $('#webhook-log').hidden = true;
      this.load();
    });
  }

  async deliveries(id) {
    await attempt(async () => {
      const log = await api('GET', `/v1/webhooks/${id}/deliveries?limit=50`);
      $('#webhook-log').hidden = false;
      $('#webhook-log-title').textContent = `Deliveries to endpoint ${id}, newest first`;
      fillTable($('#webhook-deliveries'), log.deliveries, (d) => [
        d.event_id, d.type, time(d.created_at), d.status, d.attempts,
        d.last_status_code ?? '', d.last_error ?? '',
      ], 'Nothing sent to it yet.');
    });
  }

  async load() {
    try {
      const answer = await api('GET', '/v1/webhooks');
      fillTable($('#webhooks'), answer.endpoints, (e) => [
        e.endpoint_id, e.url, e.events.join(', '), e.consecutive_failures,
        button('Deliveries', () => this.deliveries(e.endpoint_id),
               { 'aria-label': `Deliveries of endpoint ${e.endpoint_id}` }),
        button('Delete', () => this.remove(e.endpoint_id),
               { 'aria-label': `Delete endpoint ${e.endpoint_id}` }),
      ], 'No endpoints yet.');
    } catch (error) {
      say(error.message, true);
    }
  }
}
