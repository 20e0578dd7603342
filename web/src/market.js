// The public market view: depth, index candles, last trades and tariffs of
// one pool, kept current by the stream's book, index and trades channels.
import uPlot from './vendor/uPlot.esm.js';
import { api } from './api.js';
import { $, element, fillTable, say, coalesce } from './dom.js';
import { usd, time } from './format.js';

const RANGES = {
  '1h': { interval: '1m', seconds: 3600 },
  '24h': { interval: '1h', seconds: 86400 },
  '7d': { interval: '1h', seconds: 7 * 86400 },
};

export class MarketView {
  constructor() {
    this.pools = [];
    this.pool = null;
    this.range = '1h';
    this.trades = [];
    this.depthPlot = null;
    this.indexPlot = null;
    this.refreshCandles = coalesce(() => this.loadCandles(), 2000);
  }

  channels() {
    return this.pool ? [`book:${this.pool}`, `index:${this.pool}`, `trades:${this.pool}`] : [];
  }

  async start() {
    const answer = await api('GET', '/v1/market/pools');
    this.pools = answer.pools;
    const select = $('#pool');
    select.replaceChildren(...this.pools.map((p) => element('option', p.pool, { value: p.pool })));
    this.pool = this.pools[0] ? this.pools[0].pool : null;
    select.addEventListener('change', () => this.choose(select.value));
    for (const rangeButton of document.querySelectorAll('[data-range]')) {
      rangeButton.addEventListener('click', () => {
        this.range = rangeButton.dataset.range;
        for (const other of document.querySelectorAll('[data-range]'))
          other.setAttribute('aria-pressed', String(other === rangeButton));
        this.loadCandles();
      });
    }
    window.addEventListener('resize', coalesce(() => this.resize(), 200));
    await Promise.all([this.load(), this.loadTariffs()]);
  }

  async choose(pool) {
    this.pool = pool;
    this.onChannels();
    await this.load();
  }

  // Set by the app: called when the channels to follow change.
  onChannels() {}

  async load() {
    const chosen = this.pool;
    const pool = encodeURIComponent(chosen);
    try {
      const [book, trades] = await Promise.all([
        api('GET', `/v1/market/${pool}/book`),
        api('GET', `/v1/market/${pool}/trades`),
      ]);
      if (chosen !== this.pool) return;  // another pool was chosen meanwhile
      this.showIndex(book.index_micros_per_card_hour);
      this.drawDepth(book);
      this.trades = trades.trades;
      this.showTrades();
      await this.loadCandles();
    } catch (error) {
      say(error.message, true);
    }
  }

  onEvent(event) {
    if (event.channel === `book:${this.pool}`) this.drawDepth(event.data);
    if (event.channel === `index:${this.pool}`) {
      this.showIndex(event.data.index_micros_per_card_hour);
      this.refreshCandles();
    }
    if (event.channel === `trades:${this.pool}`) {
      this.trades.unshift({ at: event.at, cards: event.data.cards,
                            price_micros_per_card_hour: event.data.price_micros_per_card_hour });
      this.trades.length = Math.min(this.trades.length, 50);
      this.showTrades();
    }
  }

  showIndex(micros) {
    $('#index-now').textContent = `index ${usd(micros)} / card-h`;
  }

  showTrades() {
    fillTable($('#trades'), this.trades.slice(0, 20),
              (t) => [time(t.at), t.cards, usd(t.price_micros_per_card_hour)], 'No trades yet.');
  }

  // Cumulative cards: bids from the best down, asks from the best up, on one
  // price axis (USD per card-hour), drawn as steps.
  drawDepth(book) {
    const asks = book.asks || [];
    const bids = book.bids || [];
    const prices = [...new Set([...asks, ...bids].map((l) => l.price_micros_per_hour))].sort((a, b) => a - b);
    const x = prices.map((p) => p / 1e6);
    const bidDepth = prices.map((p) => {
      const cards = bids.filter((l) => l.price_micros_per_hour >= p).reduce((s, l) => s + l.cards, 0);
      return cards > 0 ? cards : null;
    });
    const askDepth = prices.map((p) => {
      const cards = asks.filter((l) => l.price_micros_per_hour <= p).reduce((s, l) => s + l.cards, 0);
      return cards > 0 ? cards : null;
    });
    // One step past each side's last level, so a single level still draws.
    if (prices.length > 0) {
      x.unshift(x[0] * 0.9);
      bidDepth.unshift(bidDepth[0]);
      askDepth.unshift(null);
      x.push(x[x.length - 1] * 1.1);
      bidDepth.push(null);
      askDepth.push(askDepth[askDepth.length - 1]);
    }
    const askCards = asks.reduce((s, l) => s + l.cards, 0);
    const bidCards = bids.reduce((s, l) => s + l.cards, 0);
    const best = asks.length ? usd(asks[0].price_micros_per_hour) : 'none';
    $('#depth-summary').textContent =
      `${askCards} cards asked (best ${best} / card-h), ${bidCards} cards bid`;
    const data = [x, bidDepth, askDepth];
    if (this.depthPlot) {
      this.depthPlot.setData(data);
      return;
    }
    const stepped = uPlot.paths.stepped({ align: 1 });
    this.depthPlot = new uPlot({
      ...this.size($('#depth-chart')),
      scales: { x: { time: false } },
      axes: [{ label: 'USD per card-hour' }, { label: 'cards' }],
      series: [
        { label: 'price' },
        { label: 'bids', stroke: '#1a7f37', fill: 'rgba(26,127,55,0.15)', paths: stepped },
        { label: 'asks', stroke: '#cf222e', fill: 'rgba(207,34,46,0.15)', paths: stepped },
      ],
    }, data, $('#depth-chart'));
  }

  async loadCandles() {
    const chosen = this.pool;
    const { interval, seconds } = RANGES[this.range];
    const to = Math.floor(Date.now() / 1000) + 60;
    const from = to - seconds;
    try {
      const answer = await api('GET',
        `/v1/market/${encodeURIComponent(this.pool)}/candles?interval=${interval}&from=${from}&to=${to}`);
      if (chosen !== this.pool) return;
      this.window = [from, to];
      this.drawIndex(answer.candles);
    } catch (error) {
      say(error.message, true);
    }
  }

  drawIndex(candles) {
    const data = [
      candles.map((c) => c.at),
      candles.map((c) => c.high / 1e6),
      candles.map((c) => c.low / 1e6),
      candles.map((c) => c.close / 1e6),
    ];
    if (this.indexPlot) {
      this.indexPlot.setData(data);
      return;
    }
    this.indexPlot = new uPlot({
      ...this.size($('#index-chart')),
      scales: { x: { time: true, range: () => this.window } },
      axes: [{}, { label: 'USD per card-hour' }],
      series: [
        { label: 'time' },
        { label: 'high', stroke: '#8c959f' },
        { label: 'low', stroke: '#8c959f' },
        { label: 'close', stroke: '#0969da', width: 2, points: { show: true } },
      ],
      bands: [{ series: [1, 2], fill: 'rgba(9,105,218,0.12)' }],
    }, data, $('#index-chart'));
  }

  size(container) {
    return { width: Math.max(260, container.clientWidth || 600), height: 220 };
  }

  resize() {
    for (const [plot, container] of [[this.depthPlot, '#depth-chart'], [this.indexPlot, '#index-chart']])
      if (plot) plot.setSize(this.size($(container)));
  }

  async loadTariffs() {
    const answer = await api('GET', '/v1/market/tariffs');
    const host = $('#tariffs');
    const table = element('table', null, { class: 'tariff-table' });
    const head = table.createTHead().insertRow();
    head.append(element('th', 'Region', { scope: 'col' }));
    for (let hour = 0; hour < 24; ++hour) {
      const at = answer.from + hour * answer.hour_seconds;
      head.append(element('th', new Date(at * 1000).getUTCHours(), { scope: 'col' }));
    }
    const body = table.createTBody();
    for (const region of answer.regions) {
      const row = body.insertRow();
      row.append(element('th', region.region, { scope: 'row' }));
      for (const bp of region.multiplier_bp) {
        const level = bp < 9000 ? 'cheap' : bp > 11000 ? 'peak' : 'normal';
        const multiplier = (bp / 10000).toFixed(2);
        row.append(element('td', multiplier, { class: `tariff ${level}`, title: `×${multiplier} (${level})` }));
      }
    }
    host.replaceChildren(table);
  }
}
