// The console: who is signed in, which view shows, and one stream feeding
// every view. Signing in trades the API key for a session cookie the page
// cannot read; the key is never stored in the browser.
import { api, setCsrf } from './api.js';
import { $, say } from './dom.js';
import { Stream } from './stream.js';
import { MarketView } from './market.js';
import { BuyerView } from './buyer.js';
import { SupplierView } from './supplier.js';
import { FinanceView } from './finance.js';
import { WebhooksView } from './webhooks.js';
import { AccountView } from './account.js';
import { OperatorView } from './operator.js';

const market = new MarketView();
let session = null;  // {account_id, role, csrf_token, expires_at}
let views = [];      // the signed-in views
const stream = new Stream((event) => {
  market.onEvent(event);
  for (const view of views) view.onEvent(event);
}, (state) => { $('#stream-state').textContent = state === 'live' ? '● live' : state; }, () => {
  signedOut();
  say('Your session has ended: sign in again.', true);
});

function follow() {
  stream.follow([...market.channels(), ...views.flatMap((v) => v.channels())]);
}
market.onChannels = follow;

function viewsFor(role) {
  const shown = { market: true, buyer: role === 'buyer', supplier: role === 'supplier',
                  finance: ['buyer', 'supplier', 'finance', 'operator'].includes(role),
                  webhooks: role === 'buyer' || role === 'supplier',
                  account: role === 'buyer' || role === 'supplier',
                  operator: role === 'operator' };
  for (const link of document.querySelectorAll('nav [data-view]'))
    link.hidden = !shown[link.dataset.view];
  return shown;
}

function route() {
  const wanted = (location.hash || '#market').slice(1);
  const shown = viewsFor(session ? session.role : null);
  const view = shown[wanted] ? wanted : 'market';
  for (const section of document.querySelectorAll('[data-view-section]'))
    section.hidden = section.dataset.viewSection !== view;
  for (const link of document.querySelectorAll('nav [data-view]')) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (view === 'market') market.resize();
}

async function signedIn(answer) {
  session = answer;
  setCsrf(answer.csrf_token);
  $('#sign-in').hidden = true;
  $('#who').hidden = false;
  $('#who-text').textContent = `${answer.role}` +
    (answer.account_id ? ` · account ${answer.account_id}` : '');
  const tariffs = await api('GET', '/v1/market/tariffs');
  const regions = tariffs.regions.map((r) => r.region);
  views = [];
  if (answer.role === 'buyer') views.push(new BuyerView(market.pools));
  if (answer.role === 'supplier') views.push(new SupplierView(market.pools, regions));
  if (['buyer', 'supplier', 'finance', 'operator'].includes(answer.role))
    views.push(new FinanceView(answer.role));
  if (answer.role === 'buyer' || answer.role === 'supplier')
    views.push(new WebhooksView(), new AccountView(answer.role));
  if (answer.role === 'operator') views.push(new OperatorView());
  await Promise.all(views.map((v) => v.start()));
  stream.close();
  stream.channels = new Set();
  await stream.connect(true);
  follow();
  route();
}

function signedOut() {
  session = null;
  setCsrf(null);
  views = [];
  $('#sign-in').hidden = false;
  $('#who').hidden = true;
  stream.close();
  stream.channels = new Set();
  stream.connect(false);
  follow();
  route();
}

async function start() {
  window.addEventListener('hashchange', route);
  $('#sign-in-button').disabled = false;
  $('#sign-in').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('#api-key');
    try {
      const answer = await api('POST', '/v1/session', { api_key: input.value.trim() });
      input.value = '';  // the key leaves the page once signed in
      await signedIn(answer);
      say(`Signed in as ${answer.role}.`);
      location.hash = answer.role === 'buyer' ? '#buyer'
        : answer.role === 'supplier' ? '#supplier'
        : answer.role === 'operator' ? '#operator' : '#finance';
    } catch (error) {
      say(error.message, true);
    }
  });
  $('#sign-out').addEventListener('click', async () => {
    try {
      await api('DELETE', '/v1/session');
    } catch (error) {
      // The session may have ended already; the page signs out either way.
    }
    signedOut();
    location.hash = '#market';
    say('Signed out.');
  });
  try {
    await market.start();
  } catch (error) {
    say(error.message, true);
  }
  try {
    await signedIn(await api('GET', '/v1/session'));
  } catch {
    signedOut();
  }
}

start();
