// The buyer's view: balance, quote and place, orders, leases with what they
// have been charged, reclaim notices as they arrive.
import { api, oneWrite } from './api.js';
import { $, element, button, fillTable, say, coalesce, attempt } from './dom.js';
import { usd, micros, time, words } from './format.js';

export class BuyerView {
  constructor(pools) {
    this.pools = pools;  // from /v1/market/pools, in pool_index order
    this.refresh = coalesce(() => this.load(), 300);
  }

  channels() {
    return ['orders', 'leases'];
  }

  start() {
    this.placing = oneWrite($('#place-button'));
    this.withdrawing = oneWrite($('#withdraw-button'));
    $('#withdraw-form').onsubmit = (event) => {
      event.preventDefault();
      this.withdraw();
    };
    $('#order-pool').replaceChildren(
      ...this.pools.map((p) => element('option', p.pool, { value: p.pool })));
    $('#quote-button').onclick = () => this.quote();
    $('#order-form').onsubmit = (event) => {
      event.preventDefault();
      this.place();
    };
    return this.load();
  }

  onEvent(event) {
    if (event.channel !== 'orders' && event.channel !== 'leases') return;
    if (event.data && event.data.kind === 'lease_reclaim_notice') {
      const notice = element('li',
        `Lease ${event.data.lease} will be reclaimed by its supplier at ${time(event.data.ends_at)}.`);
      $('#notices').prepend(notice);
    }
    this.refresh();
  }

  // The order the form describes, or null (with the reason said).
  order() {
    const form = new FormData($('#order-form'));
    const limit = micros(form.get('limit'));
    const hours = Number(form.get('hours'));
    if (limit === null || !(hours > 0)) {
      say('Enter a duration in hours and a limit in USD, like 2.50.', true);
      return null;
    }
    const body = {
      pool: form.get('pool'),
      cards: Number(form.get('cards')),
      duration_seconds: Math.round(hours * 3600),
      limit_micros_per_hour: limit,
      strategy: form.get('strategy'),
    };
    if (body.strategy === 'cost_first') {
      const deadline = Number(form.get('deadline'));
      body.latest_start = Math.floor(Date.now() / 1000) + Math.round(deadline * 3600);
    }
    return body;
  }

  async quote() {
    const body = this.order();
    if (!body) return;
    delete body.strategy;
    delete body.latest_start;
    try {
      const quote = await api('POST', '/v1/quotes', body);
      const host = $('#quote');
      const table = element('table');
      const head = table.createTHead().insertRow();
      for (const title of ['Node', 'Region', 'Cards', 'USD / card-h', 'Cost'])
        head.append(element('th', title, { scope: 'col' }));
      table.createTBody();
      fillTable(table, quote.legs, (leg) => [leg.node_id, leg.region, leg.cards,
        usd(leg.price_micros_per_card_hour), usd(leg.cost_micros)], 'No supply meets this order now.');
      const summary = element('p',
        `${quote.cards_fillable} of ${body.cards} cards fill now; expected cost ${usd(quote.cost_micros)}, ` +
        `hold ${usd(quote.hold_micros)}` +
        (quote.remainder_reason !== 'none' ? `; the rest waits: ${words(quote.remainder_reason)}` : ''));
      host.replaceChildren(summary, table);
    } catch (error) {
      say(error.message, true);
    }
  }

  async place() {
    const body = this.order();
    if (!body) return;
    try {
      const placed = await this.placing(
        (key) => api('POST', '/v1/orders', body, { idempotencyKey: key }));
      if (!placed) return;  // a click while the last one is in flight
      say(`Order ${placed.order_id} placed: ${words(placed.status)}` +
          (placed.leases && placed.leases.length ? `, ${placed.leases.length} lease(s) started` : ''));
      this.refresh();
    } catch (error) {
      say(error.message, true);
    }
  }

  async load() {
    try {
      const [account, orders, leases] = await Promise.all([
        api('GET', '/v1/account'), api('GET', '/v1/orders'), api('GET', '/v1/leases')]);
      $('#cash').textContent = usd(account.cash_micros);
      $('#hold').textContent = usd(account.hold_micros);
      this.showOrders(orders.orders);
      this.showLeases(leases.leases);
    } catch (error) {
      say(error.message, true);
    }
  }

  poolName(index) {
    return this.pools[index] ? this.pools[index].pool : `#${index}`;
  }

  showOrders(orders) {
    const open = (o) => o.cards_open > 0 && o.state !== 'cancelled' && o.state !== 'completed';
    fillTable($('#orders'), orders, (o) => [
      o.order_id, words(o.state), words(o.strategy), `${o.cards_open} / ${o.cards_filled}`,
      usd(o.limit_micros_per_hour), open(o) ? words(o.unfilled_reason) : '',
      open(o) ? this.actions(o) : '',
    ], 'No orders yet.');
  }

  // Running leases carry what metering has billed so far (seconds_billed,
  // charged_now_micros) from the committed read model.
  showLeases(leases) {
    fillTable($('#leases'), leases, (l) => [
      l.lease_id, this.poolName(l.pool_index), l.cards, usd(l.price_micros_per_card_hour),
      l.status === 'running' ? (l.reclaim_pending ? 'running, reclaim notice' : 'running')
                             : `ended (${words(l.end_reason)})`,
      l.seconds_billed ?? '–',
      usd(l.charged_now_micros ?? l.charged_micros, 6),
      l.status === 'running' ? button('Stop', () => this.stop(l.lease_id),
                                      { 'aria-label': `Stop lease ${l.lease_id}` }) : '',
    ], 'No leases yet.');
  }

  actions(order) {
    const both = element('span');
    both.append(
      button('Amend', () => this.amend(order), { 'aria-label': `Amend order ${order.order_id}` }),
      ' ',
      button('Cancel', () => this.cancel(order.order_id),
             { 'aria-label': `Cancel order ${order.order_id}` }));
    return both;
  }

  // A new limit (USD per card-hour) and, optionally, fewer cards.
  async amend(order) {
    const limitText = prompt(`New limit for order ${order.order_id} (USD per card-hour)`,
                             usd(order.limit_micros_per_hour).slice(1).replaceAll(',', ''));
    if (limitText === null) return;
    const cardsText = prompt(`Cards to keep open (at most ${order.cards_open})`, String(order.cards_open));
    if (cardsText === null) return;
    const limit = micros(limitText);
    if (limit === null) return say('Enter the limit in USD, like 2.50.', true);
    try {
      const amended = await api('POST', `/v1/orders/${order.order_id}/amend`,
                                { cards: Number(cardsText), limit_micros_per_hour: limit });
      say(`Order ${order.order_id}: ${amended.cards_open} cards open at ${usd(amended.limit_micros_per_hour)}` +
          (amended.lost_priority ? ' (it lost its place in time)' : '') + '.');
      this.refresh();
    } catch (error) {
      say(error.message, true);
    }
  }

  async withdraw() {
    const amount = micros($('#withdraw-amount').value);
    if (amount === null || amount <= 0) return say('Enter the amount in USD, like 100.00.', true);
    await attempt(async () => {
      const done = await this.withdrawing((key) =>
        api('POST', '/v1/account/withdrawals', { amount_micros: amount }, { idempotencyKey: key }));
      if (!done) return;
      say(`Withdrew ${usd(done.withdrawn_micros)}; cash now ${usd(done.cash_micros)}.`);
      $('#withdraw-amount').value = '';
      this.refresh();
    });
  }

  async cancel(order) {
    await attempt(async () => {
      await api('DELETE', `/v1/orders/${order}`);
      say(`Order ${order} cancelled.`);
      this.refresh();
    });
  }

  async stop(lease) {
    await attempt(async () => {
      await api('POST', `/v1/leases/${lease}/stop`);
      say(`Lease ${lease} stopped.`);
      this.refresh();
    });
  }
}
