// The REST API as the console uses it: same-origin fetch with the session
// cookie, the CSRF token on every state-changing request, and errors that
// carry the server's own words.

let csrfToken = null;

export function setCsrf(token) {
  csrfToken = token;
}

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// A fresh Idempotency-Key from the browser's CSPRNG (crypto.randomUUID is
// only there on HTTPS or localhost; this works everywhere).
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return 'console-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Runs a write from a form once per intent: `button` is disabled while it is
// in flight (no double click places two orders), and the Idempotency-Key is
// kept until the server answers with a success or a refusal, so a retry after
// a network failure or a 5xx cannot apply it twice.
export function oneWrite(button) {
  let key = null;
  return async (send) => {
    if (button.disabled) return undefined;
    key = key || newIdempotencyKey();
    button.disabled = true;
    try {
      const answer = await send(key);
      key = null;
      return answer;
    } catch (error) {
      if (error.status >= 400 && error.status < 500) key = null;
      throw error;
    } finally {
      button.disabled = false;
    }
  };
}

// A read the server turned away for now (429: a few views load at once, and
// an account has a few worker jobs at a time) is asked again, a few times.
const kReadRetries = 4;

export async function api(method, path, body, { idempotencyKey } = {}) {
  for (let attempt = 1; ; ++attempt) {
    try {
      return await call(method, path, body, idempotencyKey);
    } catch (error) {
      if (method !== 'GET' || error.status !== 429 || attempt >= kReadRetries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

async function call(method, path, body, idempotencyKey) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, 'unreachable', 'the server did not answer: check your connection');
  }
  if (response.status === 204 || response.status === 304) return null;
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = (json && json.error) || {};
    throw new ApiError(response.status, error.code || `http_${response.status}`,
                       error.message || text || response.statusText, error.field);
  }
  return json;
}

// A download with progress (exports): read as it arrives, calling
// onProgress(bytes), and kept in memory as one Blob for the browser to save
// (exports are bounded by billing.max_export_days).
export async function download(path, onProgress) {
  const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (!response.ok) {
    let message = response.statusText;
    try {
      message = (await response.json()).error.message;
    } catch { /* not JSON */ }
    throw new ApiError(response.status, `http_${response.status}`, message);
  }
  const reader = response.body.getReader();
  const pieces = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pieces.push(value);
    bytes += value.length;
    onProgress(bytes);
  }
  return new Blob(pieces, { type: response.headers.get('Content-Type') || 'text/plain' });
}
