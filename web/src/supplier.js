// The supplier's view: nodes with measured CU and reliability, listings
// (create, withdraw), cards leased now, earnings per day.
import { api, oneWrite } from './api.js';
import { $, element, button, fillTable, say, coalesce, attempt } from './dom.js';
import { usd, micros, time, day } from './format.js';

export class SupplierView {
  constructor(pools, regions) {
    this.pools = pools;
    this.regions = regions;  // region names, in region_index order
    this.refresh = coalesce(() => this.load(), 300);
  }

  channels() {
    return ['leases'];
  }

  start() {
    this.registering = oneWrite($('#node-form button[type="submit"]'));
    this.listing = oneWrite($('#listing-form button[type="submit"]'));
    $('#node-pool').replaceChildren(
      ...this.pools.map((p) => element('option', p.pool, { value: p.pool })));
    $('#node-region').replaceChildren(...this.regions.map((r) => element('option', r, { value: r })));
    $('#node-form').onsubmit = (event) => {
      event.preventDefault();
      this.register();
    };
    $('#listing-form').onsubmit = (event) => {
      event.preventDefault();
      this.list();
    };
    return this.load();
  }

  onEvent(event) {
    if (event.channel === 'leases') this.refresh();
  }

  async register() {
    const form = new FormData($('#node-form'));
    try {
      const body = { pool: form.get('pool'), region: form.get('region'), cards: Number(form.get('cards')) };
      const node = await this.registering(
        (key) => api('POST', '/v1/nodes', body, { idempotencyKey: key }));
      if (!node) return;
      say(`Node ${node.node_id} registered.`);
      this.refresh();
    } catch (error) {
      say(error.message, true);
    }
  }

  async list() {
    const form = new FormData($('#listing-form'));
    const price = micros(form.get('price'));
    if (price === null) return say('Enter the reserve in USD, like 2.00.', true);
    const now = Math.floor(Date.now() / 1000);
    try {
      const body = {
        node_id: Number(form.get('node')), cards: Number(form.get('cards')),
        reserve_micros_per_card_hour: price, available_from: now - 60,
        available_until: now + Number(form.get('days')) * 86400,
      };
      const listing = await this.listing(
        (key) => api('POST', '/v1/listings', body, { idempotencyKey: key }));
      if (!listing) return;
      say(`Listing ${listing.listing_id} is on the market.`);
      this.refresh();
    } catch (error) {
      say(error.message, true);
    }
  }

  async withdraw(listing) {
    await attempt(async () => {
      await api('DELETE', `/v1/listings/${listing}`);
      say(`Listing ${listing} withdrawn.`);
      this.refresh();
    });
  }

  async load() {
    try {
      const [nodes, listings, earnings] = await Promise.all([
        api('GET', '/v1/nodes'), api('GET', '/v1/listings'), api('GET', '/v1/billing/earnings')]);
      const poolName = (i) => (this.pools[i] ? this.pools[i].pool : `#${i}`);
      fillTable($('#nodes'), nodes.nodes, (n) => [
        n.node_id, poolName(n.pool_index), this.regions[n.region_index] || `#${n.region_index}`,
        n.cards, n.cards_leased, n.measured_cu_milli ? (n.measured_cu_milli / 1000).toFixed(3) : 'catalog',
        `${(n.reliability_bp / 100).toFixed(2)} %`,
      ], 'No nodes yet: register one.');
      $('#listing-node').replaceChildren(...nodes.nodes.map(
        (n) => element('option', `${n.node_id} (${poolName(n.pool_index)}, ${n.cards} cards)`, { value: n.node_id })));
      fillTable($('#listings'), listings.listings, (l) => [
        l.listing_id, l.node_id, l.cards, usd(l.reserve_micros_per_card_hour), time(l.available_until),
        l.status, l.status === 'active' ? button('Withdraw', () => this.withdraw(l.listing_id),
                                                 { 'aria-label': `Withdraw listing ${l.listing_id}` }) : '',
      ], 'No listings yet.');
      fillTable($('#earnings'), earnings.days, (d) => [day(d.day), usd(d.earned_micros, 6)],
                'No earnings yet.');
    } catch (error) {
      say(error.message, true);
    }
  }
}
