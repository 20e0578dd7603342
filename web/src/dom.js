// Small helpers to build the DOM from data: text only (never innerHTML), so
// nothing the server or a user sends can become markup.

export const $ = (selector) => document.querySelector(selector);

export function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

export function button(label, onClick, attributes = {}) {
  const node = element('button', label, { type: 'button', ...attributes });
  node.addEventListener('click', onClick);
  return node;
}

// Replaces a table's body with one row per item; `cells` gives a row's
// cells as text or nodes.
export function fillTable(table, items, cells, empty = 'Nothing yet.') {
  const body = table.tBodies[0];
  body.replaceChildren();
  if (items.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = table.tHead.rows[0].cells.length;
    cell.className = 'muted';
    cell.textContent = empty;
    return;
  }
  for (const item of items) {
    const row = body.insertRow();
    for (const value of cells(item)) {
      const cell = row.insertCell();
      if (value instanceof Node) cell.append(value);
      else cell.textContent = value === undefined || value === null ? '' : String(value);
    }
  }
}

let statusTimer = null;
export function say(text, isError = false) {
  const status = $('#status');
  status.textContent = text;
  status.classList.toggle('error', isError);
  clearTimeout(statusTimer);
  if (!isError) statusTimer = setTimeout(() => { status.textContent = ''; }, 8000);
}

// Runs `work` at most once per `ms`, trailing: many events, one refresh.
export function coalesce(work, ms = 300) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      work();
    }, ms);
  };
}

// Runs an action a person asked for; its failure is said, in the server's words.
export async function attempt(work) {
  try {
    return await work();
  } catch (error) {
    say(error.message, true);
    return undefined;
  }
}
