// The operator's controls: halt and resume pools, suspend and reinstate
// accounts, quarantine and release nodes, the platform fee, tariff schedules,
// GPU models, and the audit of what the operator did. Every control is an
// engine command; the page shows the server's answer or its refusal in its words.
import { api } from './api.js';
import { $, button, fillTable, say, attempt } from './dom.js';
import { time } from './format.js';

const DAY = 86400;

export class OperatorView {
  channels() {
    return [];
  }

  onEvent() {}

  start() {
    $('#operator-account-form').onsubmit = (event) => {
      event.preventDefault();
      this.account($('#operator-account-action').value);
    };
    $('#operator-node-form').onsubmit = (event) => {
      event.preventDefault();
      this.node($('#operator-node-action').value);
    };
    $('#operator-fee-form').onsubmit = (event) => {
      event.preventDefault();
      this.setFee();
    };
    $('#operator-tariff-form').onsubmit = (event) => {
      event.preventDefault();
      this.publishTariffs();
    };
    $('#operator-model-form').onsubmit = (event) => {
      event.preventDefault();
      this.addModel();
    };
    return Promise.all([this.loadPools(), this.loadFee(), this.loadTariffs(), this.loadAudit()]);
  }

  async loadPools() {
    await attempt(async () => {
      const answer = await api('GET', '/v1/market/pools');
      fillTable($('#operator-pools'), answer.pools, (p) => [
        p.pool, p.halted ? 'halted' : 'trading',
        button(p.halted ? 'Resume' : 'Halt', () => this.pool(p.pool, !p.halted)),
      ]);
    });
  }

  async pool(name, halt) {
    await attempt(async () => {
      await api('POST', `/v1/operator/pools/${encodeURIComponent(name)}/${halt ? 'halt' : 'resume'}`);
      say(`${name} ${halt ? 'halted: no new orders or listings' : 'trading again'}.`);
      this.loadPools();
      this.loadAudit();
    });
  }

  // An id typed by a person: digits only, or null.
  static id(selector) {
    const text = $(selector).value.trim();
    return /^[0-9]{1,19}$/.test(text) ? text : null;
  }

  async account(action) {
    const id = OperatorView.id('#operator-account-id');
    if (id === null) return say('Enter an account id (digits).', true);
    const suspend = action === 'suspend';
    const body = suspend ? { stop_leases: $('#operator-stop-leases').checked } : undefined;
    await attempt(async () => {
      await api('POST', `/v1/operator/accounts/${id}/${suspend ? 'suspend' : 'reinstate'}`, body);
      say(`Account ${id} ${suspend ? 'suspended' : 'reinstated'}.`);
      this.loadAudit();
    });
  }

  async node(action) {
    const id = OperatorView.id('#operator-node-id');
    if (id === null) return say('Enter a node id (digits).', true);
    const quarantine = action === 'quarantine';
    await attempt(async () => {
      await api('POST', `/v1/operator/nodes/${id}/${quarantine ? 'quarantine' : 'release'}`);
      say(`Node ${id} ${quarantine ? 'quarantined: no new leases' : 'released'}.`);
      this.loadAudit();
    });
  }

  async loadFee() {
    await attempt(async () => {
      const fee = await api('GET', '/v1/operator/platform-fee');
      $('#operator-fee-now').textContent =
        `${fee.fee_bp} bp for leases starting now (the configuration started the market at ${fee.configured_bp} bp)`;
    });
  }

  async setFee() {
    const text = $('#operator-fee').value.trim();
    if (!/^[0-9]{1,4}$/.test(text)) return say('Enter the fee in basis points, 0 to 5000.', true);
    await attempt(async () => {
      const answer = await api('PUT', '/v1/operator/platform-fee', { fee_bp: Number(text) });
      say(`Platform fee ${answer.fee_bp} bp for leases that start from now (was ${answer.previous_bp}).`);
      this.loadFee();
      this.loadAudit();
    });
  }

  async loadTariffs() {
    await attempt(async () => {
      const answer = await api('GET', '/v1/market/tariffs');
      fillTable($('#operator-schedules'), answer.schedules, (s) => [
        s.version, s.effective_from === null ? 'from the start' : time(s.effective_from),
      ]);
    });
  }

  // A JSON document typed by a person, or null (said).
  static json(selector, what) {
    try {
      const value = JSON.parse($(selector).value);
      if (value && typeof value === 'object' && !Array.isArray(value)) return value;
    } catch (error) {
      // said below
    }
    say(`Enter ${what} as a JSON object.`, true);
    return null;
  }

  async publishTariffs() {
    const document = OperatorView.json('#operator-tariff-json', 'the tariffs ({"regions": [...]})');
    if (document === null) return;
    const at = Date.parse(`${$('#operator-tariff-from').value}:00Z`);
    if (Number.isNaN(at)) return say('Choose the hour (UTC) the schedule takes effect.', true);
    document.effective_from = Math.floor(at / 1000);
    await attempt(async () => {
      const answer = await api('POST', '/v1/operator/tariffs', document);
      say(`Tariff schedule ${answer.version} in force from ${time(answer.effective_from)} for leases that start after now.`);
      this.loadTariffs();
      this.loadAudit();
    });
  }

  async addModel() {
    const model = OperatorView.json('#operator-model-json', 'the model');
    if (model === null) return;
    await attempt(async () => {
      const answer = await api('POST', '/v1/operator/gpu-models', model);
      say(`Pool ${answer.pool} is open.`);
      this.loadPools();
      this.loadAudit();
    });
  }

  async loadAudit() {
    await attempt(async () => {
      const now = Math.floor(Date.now() / 1000);
      const answer = await api('GET', `/v1/operator/audit?from=${now - DAY}&to=${now + 60}`);
      fillTable($('#operator-audit'), answer.actions.slice().reverse(), (a) => [
        a.command_seq, time(a.at), a.action, a.rejected || '', a.events,
      ], 'Nothing in the last day.');
    });
  }
}
