// The console in headless chromium against a real spotgridd (see
// run_console_test.sh): the book moves when a supplier lists, a buyer signs
// in, places a cost-first order that becomes a lease, sees its charge grow as
// the agent reports, cancels an order, stops the lease, downloads an export,
// and signs out, after which the old cookie no longer works; the operator
// halts and resumes a pool, sets the fee and adds a GPU model.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

const { BASE, SUPPLIER_KEY, BUYER_KEY, NODE_ID, OPERATOR_KEY, SCREENSHOTS, CHROMIUM } = process.env;
const step = (text) => console.log(`console_test: ${text}`);

async function asSupplier(method, path, body) {
  const response = await fetch(BASE + path, {
    method,
    headers: { Authorization: `Bearer ${SUPPLIER_KEY}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return response.json();
}

// Waits until `read()` returns something `accept` likes; fails with what it last saw.
async function until(what, read, accept, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await read();
    if (accept(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const failures = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (error) => failures.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs every non-2xx answer; the refusals here are expected ones.
    const answered = message.text().startsWith('Failed to load resource: the server responded');
    if (message.type() === 'error' && !answered) failures.push(`console error: ${message.text()}`);
  });

  step('the public market view, no sign-in');
  await page.goto(BASE + '/');
  await page.locator('#view-market').getByLabel('Pool').selectOption('H100-SXM-80G');
  await until('the stream goes live', () => page.locator('#stream-state').textContent(),
              (text) => text.includes('live'));
  const before = await page.locator('#depth-summary').textContent();
  assert.match(before, /^0 cards asked/);

  step('a supplier lists 8 cards: the book moves, pushed by the stream');
  const now = Math.floor(Date.now() / 1000);
  await asSupplier('POST', '/v1/listings', {
    node_id: Number(NODE_ID), cards: 8, reserve_micros_per_card_hour: 2000000,
    available_from: now - 60, available_until: now + 2 * 86400,
  });
  await until('the depth shows the listing', () => page.locator('#depth-summary').textContent(),
              (text) => text.startsWith('8 cards asked (best $2.00'));
  await page.locator('#tariffs td').first().waitFor();
  await page.screenshot({ path: `${SCREENSHOTS}/market.png`, fullPage: true });

  step('the buyer signs in with the key (the page keeps no key) and withdraws 10 USD');
  const buyerView = page.locator('#view-buyer');
  await page.getByLabel('API key').fill(BUYER_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view-buyer').waitFor({ state: 'visible' });
  assert.equal(await page.getByLabel('API key').inputValue(), '');
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.ok(!stored.includes(BUYER_KEY.slice(3, 19)), 'the key must not be in storage or a readable cookie');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'sg_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
  await until('the balance shows', () => page.locator('#cash').textContent(), (t) => t === '$1,000.00');
  await buyerView.getByLabel('Withdraw (USD)').fill('10');
  await buyerView.getByRole('button', { name: 'Withdraw' }).click();
  await until('the withdrawal leaves the balance', () => page.locator('#cash').textContent(),
              (t) => t === '$990.00');

  step('a cost-first order with a deadline of now becomes a lease');
  await buyerView.getByLabel('Cards').fill('2');
  await buyerView.getByLabel('Duration (hours)').fill('1');
  await buyerView.getByLabel('Limit (USD per card-hour)').fill('4.00');
  await buyerView.getByLabel('Cost-first: wait for cheap hours').check();
  await buyerView.getByLabel('Start at the latest within (hours, cost-first)').fill('0');
  await page.getByRole('button', { name: 'Quote' }).click();
  await until('the quote shows its legs', () => page.locator('#quote').textContent(),
              (t) => t.includes('2 of 2 cards fill now'));
  await page.getByRole('button', { name: 'Place order' }).click();
  const leaseRow = page.locator('#leases tbody tr', { hasText: 'running' }).first();
  await leaseRow.waitFor({ timeout: 20000 });

  step('the charged amount grows as the agent reports');
  const charged = () => leaseRow.locator('td').nth(6).textContent();
  const first = await until('a first charge', charged, (t) => t !== '$0.000000', 30000);
  const dollars = (t) => Number(t.replace(/[$,]/g, ''));
  await until('the charge grows', charged, (t) => dollars(t) > dollars(first), 30000);
  const billed = await leaseRow.locator('td').nth(5).textContent();
  assert.ok(Number(billed) > 0, `seconds billed: ${billed}`);
  await page.screenshot({ path: `${SCREENSHOTS}/buyer.png`, fullPage: true });

  step('an order that rests is amended, then cancelled');
  await buyerView.getByLabel('Time-first: start now').check();
  await buyerView.getByLabel('Limit (USD per card-hour)').fill('1.00');
  await page.getByRole('button', { name: 'Place order' }).click();
  const amend = page.getByRole('button', { name: /^Amend order/ }).first();
  await amend.waitFor({ timeout: 20000 });
  const answers = ['0.75', '1'];  // the new limit, then the cards to keep
  const answer = (dialog) => dialog.accept(answers.shift());
  page.on('dialog', answer);
  await amend.click();
  await until('the amended order shows its new limit',
              () => page.locator('#orders tbody tr').first().textContent(),
              (t) => t.includes('$0.75') && t.includes('1 / 0'));
  page.off('dialog', answer);
  const cancel = page.getByRole('button', { name: /^Cancel order/ }).first();
  await cancel.click();
  await until('the order shows cancelled',
              () => page.locator('#orders tbody tr').first().locator('td').nth(1).textContent(),
              (t) => t === 'cancelled');

  step('a refusal says what to change');
  await buyerView.getByLabel('Cards').fill('4000');
  await buyerView.getByLabel('Limit (USD per card-hour)').fill('4.00');
  await page.getByRole('button', { name: 'Place order' }).click();
  await until('the refusal says what to do', () => page.locator('#status').textContent(),
              (t) => t.includes('does not cover it') && t.includes('deposit more'));

  step('the lease is stopped');
  await page.getByRole('button', { name: /^Stop lease/ }).first().click();
  await until('the lease ends', () => page.locator('#leases tbody tr').first().locator('td').nth(4).textContent(),
              (t) => t.startsWith('ended'));

  step('an export downloads with progress');
  await page.goto(BASE + '/#finance');
  await page.locator('#view-finance').waitFor({ state: 'visible' });
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download' }).click();
  const download = await downloading;
  const text = await readFile(await download.path(), 'utf8');
  assert.match(text.split('\n')[0], /lease/i, `export header: ${text.slice(0, 200)}`);
  assert.ok(text.split('\n').length >= 2, 'the export has the lease');
  await until('the export says it is ready', () => page.locator('#export-state').textContent(),
              (t) => t.startsWith('Export ready'));

  step('a webhook endpoint: its secret shown once, listed without it, its log, deleted');
  await page.goto(BASE + '/#webhooks');
  await page.locator('#view-webhooks').waitFor({ state: 'visible' });
  await page.getByLabel('HTTPS URL').fill('https://hooks.example.com/spotgrid');
  await page.getByLabel('order.filled').check();
  await page.getByLabel('lease.ended').check();
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await until('the secret is shown', () => page.locator('#webhook-secret-value').textContent(),
              (t) => t.startsWith('whsec_'));
  await until('the endpoint is listed', () => page.locator('#webhooks tbody').textContent(),
              (t) => t.includes('hooks.example.com') && t.includes('lease.ended'));
  assert.ok(!(await page.locator('#webhooks tbody').textContent()).includes('whsec_'));
  await page.getByRole('button', { name: /^Deliveries of endpoint/ }).first().click();
  await page.locator('#webhook-log').waitFor({ state: 'visible' });
  await page.getByRole('button', { name: /^Delete endpoint/ }).first().click();
  await until('the endpoint is gone', () => page.locator('#webhooks tbody').textContent(),
              (t) => t.includes('No endpoints yet'));

  step('keys: one created with a scope (its secret shown once), rotated, revoked');
  await page.goto(BASE + '/#account');
  await page.locator('#view-account').waitFor({ state: 'visible' });
  assert.ok(await page.locator('#payouts-card').isHidden(), 'a buyer has no payouts');
  await page.getByLabel('Label').fill('reader');
  await page.getByLabel('Scope').selectOption('read');
  await page.getByRole('button', { name: 'Create key' }).click();
  const created = await until('the new key is shown once', () => page.locator('#key-secret-value').textContent(),
                              (t) => /^sg_[0-9a-f]{16}_/.test(t));
  const createdId = created.slice(3, 19);
  await until('it is listed, read-only, without its secret', () => page.locator('#keys tbody').textContent(),
              (t) => t.includes(createdId) && t.includes('reader') && t.includes('read') && !t.includes(created));
  const readOnly = await fetch(BASE + '/v1/orders', { method: 'POST', headers: { Authorization: `Bearer ${created}` },
                                                      body: '{}' });
  assert.equal(readOnly.status, 403, 'a read key writes nothing');
  await page.getByRole('button', { name: `Rotate key ${createdId}` }).click();
  const rotated = await until('the rotated key is shown', () => page.locator('#key-secret-value').textContent(),
                              (t) => t !== created && t.startsWith('sg_'));
  const rotatedId = rotated.slice(3, 19);
  await page.getByRole('button', { name: `Revoke key ${rotatedId}` }).click();
  await until('the rotated key is revoked', () => page.locator('#keys tbody').textContent(),
              (t) => t.includes('revoked'));
  const revoked = await fetch(BASE + '/v1/account', { headers: { Authorization: `Bearer ${rotated}` } });
  assert.equal(revoked.status, 401, 'a revoked key is refused');

  step('the phone width still shows the market');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(BASE + '/#market');
  await page.locator('#depth-chart canvas').waitFor();

  step('signing out ends the session: the old cookie no longer works');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').waitFor({ state: 'visible' });
  const after = await fetch(BASE + '/v1/account', { headers: { Cookie: `sg_session=${session.value}` } });
  assert.equal(after.status, 401);

  step('a supplier sees what is payable, is refused more, and schedules daily payouts');
  await page.getByLabel('API key').fill(SUPPLIER_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view-supplier').waitFor({ state: 'visible' });  // signed in, shown
  await page.goto(BASE + '/#account');
  await page.locator('#payouts-card').waitFor({ state: 'visible' });
  // The lease earned a few seconds' worth: less than the cent a payout moves.
  const account = await asSupplier('GET', '/v1/account');
  assert.ok(account.payable_micros > 0 && account.payable_micros < 10000, JSON.stringify(account));
  const shown = `Payable now: $0.${String(account.payable_micros).padStart(6, '0')}`;
  await until('the payable amount is shown exactly', () => page.locator('#payable').textContent(),
              (t) => t.startsWith(shown));
  await page.getByLabel('Pay out (USD, whole cents)').fill('0.01');
  await page.getByRole('button', { name: 'Pay out' }).click();
  await until('the payout is refused in the server\'s words', () => page.locator('#status').textContent(),
              (t) => t.includes('does not cover the payout'));
  await page.getByLabel('Pay out each UTC midnight').check();
  await page.getByLabel('Above (USD)').fill('10.00');
  await page.getByRole('button', { name: 'Save schedule' }).click();
  await until('the schedule is saved', () => page.locator('#schedule-state').textContent(),
              (t) => t === 'Paid out daily above $10.00.');

  step('the operator halts and resumes a pool, sets the fee, adds a model, and the audit says so');
  const operatorContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const operatorPage = await operatorContext.newPage();
  operatorPage.on('pageerror', (error) => failures.push(`operator page error: ${error.message}`));
  await operatorPage.goto(BASE + '/');
  await operatorPage.getByLabel('API key').fill(OPERATOR_KEY);
  await operatorPage.getByRole('button', { name: 'Sign in' }).click();
  await operatorPage.locator('#view-operator').waitFor({ state: 'visible' });
  const h100 = operatorPage.locator('#operator-pools tr', { hasText: 'H100-SXM-80G' });
  await h100.getByRole('button', { name: 'Halt' }).click();
  await until('the pool shows halted', () => h100.textContent(), (t) => t.includes('halted'));
  await h100.getByRole('button', { name: 'Resume' }).click();
  await until('the pool trades again', () => h100.textContent(), (t) => t.includes('trading'));
  await operatorPage.getByLabel('Fee (basis points, 500 = 5 %)').fill('600');
  await operatorPage.getByRole('button', { name: 'Set for new leases' }).click();
  await until('the fee is set', () => operatorPage.locator('#operator-fee-now').textContent(),
              (t) => t.startsWith('600 bp'));
  await operatorPage.getByLabel('Model (a gpus.json entry)').fill(JSON.stringify({
    model: 'B200-SXM-192G', vendor: 'nvidia', memory_gib: 192, bf16_tflops: 2250,
    memory_bandwidth_gbps: 8000, compute_units: 5.0, reference_price_micros_per_card_hour: 6000000,
  }));
  await operatorPage.getByRole('button', { name: 'Add as a new pool' }).click();
  await until('the new pool is listed', () => operatorPage.locator('#operator-pools').textContent(),
              (t) => t.includes('B200-SXM-192G'));
  await operatorPage.getByRole('button', { name: 'Add as a new pool' }).click();
  await until('adding it twice is refused in the server\'s words',
              () => operatorPage.locator('#status').textContent(),
              (t) => t.includes('already in the catalog'));
  await until('the audit lists the actions', () => operatorPage.locator('#operator-audit').textContent(),
              (t) => t.includes('halt_pool') && t.includes('set_platform_fee') && t.includes('add_gpu_model'));
  await operatorContext.close();
  assert.deepEqual(failures, []);
  step('passed');
} finally {
  await browser.close();
}
