// The market stream: one WebSocket, the public one or (signed in) one opened
// with a single-use ticket, since a browser cannot set Authorization on an
// upgrade. It reconnects with backoff when dropped and resubscribes; nothing
// is polled.
import { api } from './api.js';

export class Stream {
  // onSessionEnded: the session behind the stream has ended (signed out in
  // another tab, expired, its key revoked): no ticket will come, so the page
  // signs out instead of asking again every 15 s.
  constructor(onEvent, onState, onSessionEnded) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.onSessionEnded = onSessionEnded;
    this.channels = new Set();
    this.socket = null;
    this.signedIn = false;
    this.backoff = 1000;
    this.generation = 0;
  }

  async connect(signedIn) {
    this.signedIn = signedIn;
    const generation = ++this.generation;
    if (this.socket) this.socket.close(1000, 'reconnecting');
    let query = '';
    if (signedIn) {
      try {
        const ticket = await api('POST', '/v1/session/ticket');
        query = `?ticket=${encodeURIComponent(ticket.ticket)}`;
      } catch (error) {
        if (error.status === 401 && generation === this.generation) return this.onSessionEnded();
        this.onState(`stream: ${error.message}`);
        return this.retry(generation);
      }
    }
    if (generation !== this.generation) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/v1/stream${query}`);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.backoff = 1000;
      this.onState('live');
      this.send('subscribe', [...this.channels]);
    });
    socket.addEventListener('message', (message) => {
      let parsed;
      try {
        parsed = JSON.parse(message.data);
      } catch {
        return;
      }
      if (parsed.type === 'event') this.onEvent(parsed);
      else if (parsed.type === 'error') this.onState(`stream: ${parsed.message || parsed.code}`);
    });
    socket.addEventListener('close', () => {
      if (generation !== this.generation) return;
      this.onState('reconnecting…');
      this.retry(generation);
    });
  }

  retry(generation) {
    setTimeout(() => {
      if (generation === this.generation) this.connect(this.signedIn);
    }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, 15000);
  }

  send(op, channels) {
    if (channels.length === 0 || !this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ op, channels }));
  }

  // Makes `wanted` the subscribed set.
  follow(wanted) {
    const next = new Set(wanted);
    this.send('unsubscribe', [...this.channels].filter((c) => !next.has(c)));
    this.send('subscribe', [...next].filter((c) => !this.channels.has(c)));
    this.channels = next;
  }

  close() {
    ++this.generation;
    if (this.socket) this.socket.close(1000, 'signed out');
    this.socket = null;
  }
}
