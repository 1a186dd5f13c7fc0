/**
 * `metrics-manager top [URL]`: a live terminal view over the agent's SSE stream (one connection,
 * delta mode), for a shell on the node or `kubectl exec`. Keys: `q` or Ctrl-C quits, `/` edits the
 * filter (Enter keeps it, Esc drops it), `p` pauses the screen (data keeps arriving).
 *
 * The terminal is put in the alternate screen with the cursor hidden and stdin in raw mode;
 * `stop()` always restores all three, whether the user quits, the process is signalled (main.ts
 * calls stop) or the stream fails for good. Redraws are at most 4 a second and only when something
 * changed. Reconnects with backoff (1 s doubling to 10 s) while the agent is away.
 */

import { renderScreen, TopModel, type ScreenState } from './view';

export interface TopTerminal {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
}

export interface TopOptions {
  /** The agent's base URL, e.g. http://localhost:9090 (a path prefix is kept). */
  url: string;
  term: TopTerminal;
  /** Called once the terminal is restored, with the exit code. */
  onExit: (code: number) => void;
}

const ALT_ON = '\x1b[?1049h\x1b[?25l';
const ALT_OFF = '\x1b[?1049l\x1b[?25h';

/** The stream URL under a base URL: keeps a path prefix, adds delta mode. */
export function topStreamUrl(base: string): URL {
  const b = new URL(base.endsWith('/') ? base : base + '/');
  const u = new URL('metrics/stream', b);
  u.searchParams.set('delta', '1');
  return u;
}

export class Top {
  private readonly model = new TopModel();
  private readonly state: ScreenState;
  private stopped = false;
  private dirty = true;
  private drawTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  private retryMs = 1000;
  private readonly onKey = (buf: Buffer) => this.key(buf.toString('utf8'));
  private readonly onResize = () => {
    this.dirty = true;
  };

  constructor(private readonly opts: TopOptions) {
    this.state = { url: opts.url, status: 'connecting', filter: '', editing: false, paused: false, nowMs: Date.now() };
  }

  start(): void {
    const { input, output } = this.opts.term;
    output.write(ALT_ON);
    if (input.isTTY) input.setRawMode(true);
    input.on('data', this.onKey);
    input.resume();
    output.on('resize', this.onResize);
    this.drawTimer = setInterval(() => this.draw(), 250);
    this.drawTimer.unref();
    this.draw();
    void this.connect();
  }

  /** Restores the terminal and ends the stream. Idempotent. */
  stop(code = 0): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.drawTimer);
    clearTimeout(this.retryTimer);
    this.abort?.abort();
    const { input, output } = this.opts.term;
    input.off('data', this.onKey);
    output.off('resize', this.onResize);
    if (input.isTTY) input.setRawMode(false);
    input.pause();
    output.write(ALT_OFF);
    this.opts.onExit(code);
  }

  private key(k: string): void {
    const st = this.state;
    if (st.editing) {
      if (k === '\r' || k === '\n') st.editing = false;
      else if (k === '\x1b') {
        st.editing = false;
        st.filter = '';
      } else if (k === '\x7f' || k === '\b') st.filter = st.filter.slice(0, -1);
      else if (k === '\x03') return this.stop(130);
      else if (k >= ' ' && !k.startsWith('\x1b')) st.filter = (st.filter + k).slice(0, 200);
    } else if (k === 'q' || k === '\x03') return this.stop(k === 'q' ? 0 : 130);
    else if (k === '/') st.editing = true;
    else if (k === 'p') st.paused = !st.paused;
    else if (k === '\x1b' && st.filter) st.filter = '';
    this.dirty = true;
    this.draw(true);
  }

  private draw(force = false): void {
    if (this.stopped || (!this.dirty && !force)) return;
    if (this.state.paused && !force) return;
    this.dirty = false;
    this.state.nowMs = Date.now();
    const out = this.opts.term.output;
    const width = Math.max(40, out.columns || 100);
    const height = Math.max(10, out.rows || 30);
    const lines = renderScreen(this.model, this.state, width, height);
    out.write('\x1b[H' + lines.join('\r\n'));
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const ctl = new AbortController();
    this.abort = ctl;
    let failure = '';
    try {
      const res = await fetch(topStreamUrl(this.opts.url), { headers: { Accept: 'text/event-stream' }, signal: ctl.signal });
      if (!res.ok || !res.body) {
        const body = await res.text().catch(() => '');
        let message = '';
        try {
          message = String(JSON.parse(body).message ?? '');
        } catch {
          message = body.slice(0, 200);
        }
        failure = `HTTP ${res.status}${message ? ': ' + message : ''}`;
      } else {
        this.setStatus('live');
        this.retryMs = 1000;
        const decoder = new TextDecoder();
        let buf = '';
        let data: string[] = [];
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).replace(/\r$/, '');
            buf = buf.slice(nl + 1);
            if (line === '') {
              if (data.length > 0 && this.model.apply(data.join('\n'), Date.now())) this.dirty = true;
              data = [];
            } else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
        }
        failure = 'stream ended';
      }
    } catch (e) {
      if (this.stopped) return;
      failure = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    }
    if (this.stopped) return;
    this.setStatus(`reconnecting (${failure})`);
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 10_000);
  }

  private setStatus(s: string): void {
    this.state.status = s;
    this.dirty = true;
  }
}
