import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/**
 * A page loaded in Debian's headless Chromium, driven over the DevTools protocol on
 * `--remote-debugging-pipe` (fd 3 in, fd 4 out, NUL-separated JSON) — no port, no extra package.
 *
 * Why the protocol rather than `--screenshot` / `--dump-dom` and `--enable-logging=stderr`: one
 * browser run gives the screenshot, the DOM and every problem as a typed event — console errors,
 * uncaught exceptions, Content-Security-Policy violations (Log.entryAdded, source `security` or
 * `violation`), failed or blocked loads (Network.loadingFailed) and any request besides the page
 * itself — whereas Chromium's stderr mixes them with its own noise (D-Bus, GPU) in a format that
 * changes between versions. The DOM is read with the DOM domain, not Runtime.evaluate, so the
 * check runs no script in the page.
 */
export interface LoadedPage {
  png: Buffer;
  /** Console errors and warnings, exceptions, CSP violations, failed loads: empty for a clean page. */
  problems: string[];
  /** Every URL the page requested (the page itself first). */
  requests: string[];
  /** Number of elements matching each selector. */
  counts: Record<string, number>;
  /** Where each element of `boxes` selectors was drawn (CSS pixels = screenshot pixels at scale 1). */
  boxes: Record<string, Array<{ x: number; y: number; width: number; height: number }>>;
  /** The DOM after load, serialised (what `--dump-dom` prints). */
  dom: string;
}

type Message = {
  id?: number;
  method?: string;
  params?: any;
  result?: any;
  error?: { message: string };
  sessionId?: string;
};

class DevToolsPipe {
  private next = 1;
  private buffered = '';
  private readonly waiting = new Map<number, { resolve: (r: any) => void; reject: (e: Error) => void }>();
  readonly listeners: Array<(m: Message) => void> = [];

  constructor(
    private readonly input: Writable,
    output: Readable,
  ) {
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      this.buffered += chunk;
      let end = this.buffered.indexOf('\0');
      while (end >= 0) {
        const message = JSON.parse(this.buffered.slice(0, end)) as Message;
        this.buffered = this.buffered.slice(end + 1);
        end = this.buffered.indexOf('\0');
        if (message.id !== undefined) {
          const w = this.waiting.get(message.id);
          this.waiting.delete(message.id);
          if (message.error) w?.reject(new Error(`DevTools: ${message.error.message}`));
          else w?.resolve(message.result);
        } else for (const l of this.listeners) l(message);
      }
    });
  }

  send(method: string, params: object = {}, sessionId?: string): Promise<any> {
    const id = this.next++;
    this.input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
  }

  failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms).unref(),
    ),
  ]);

/**
 * Load `url` in a fresh headless Chromium with a `width`×`height` viewport; returns the
 * screenshot, the problems seen and the counts of `selectors`. Fails loudly when Chromium is missing.
 */
export async function loadInChromium(
  url: string,
  options: {
    width: number;
    height: number;
    selectors: Record<string, string>;
    boxes?: Record<string, string>;
  },
): Promise<LoadedPage> {
  const binary = process.env.VAULT_OPS_TEST_CHROMIUM ?? 'chromium';
  const profile = await mkdtemp(join(tmpdir(), 'vault-ops-chromium-'));
  let stderr = '';
  let child: ChildProcess | undefined;
  try {
    child = spawn(
      binary,
      [
        '--headless',
        '--no-sandbox', // the tests run as root in CI; the page is our own, inert by its CSP
        '--disable-gpu',
        '--remote-debugging-pipe',
        `--user-data-dir=${profile}`,
        '--no-first-run',
        '--no-default-browser-check',
        '--disable-extensions',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--hide-scrollbars',
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
    );
    const started = child;
    started.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    const exited = new Promise<never>((_, reject) => {
      started.on('error', (err: NodeJS.ErrnoException) =>
        reject(
          new Error(
            err.code === 'ENOENT'
              ? `${binary} is not installed: apt-get install chromium (.ci/run does), or set VAULT_OPS_TEST_CHROMIUM`
              : `${binary} could not start: ${err.message}`,
          ),
        ),
      );
      started.on('exit', (code, signal) => reject(new Error(`${binary} exited (${code ?? signal}): ${stderr}`)));
    });
    exited.catch(() => {});
    // A browser that dies (or never started) breaks the pipe: `exited` says why, not an EPIPE.
    for (const fd of [3, 4]) (started.stdio[fd] as Readable).on('error', () => {});
    await Promise.race([new Promise((resolve) => started.once('spawn', resolve)), exited]);
    const pipe = new DevToolsPipe(started.stdio[3] as Writable, started.stdio[4] as Readable);
    const call = <T = any>(method: string, params: object = {}, sessionId?: string): Promise<T> =>
      withTimeout(Promise.race([pipe.send(method, params, sessionId), exited]), 30_000, method);

    const { targetId } = await call('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await call('Target.attachToTarget', { targetId, flatten: true });
    const problems: string[] = [];
    const requests: string[] = [];
    let loaded: () => void = () => {};
    const loadFired = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    pipe.listeners.push((m) => {
      if (m.sessionId !== sessionId) return;
      const p = m.params;
      if (m.method === 'Log.entryAdded' && (p.entry.level === 'error' || p.entry.level === 'warning'))
        problems.push(`log ${p.entry.level} (${p.entry.source}): ${p.entry.text}`);
      else if (m.method === 'Runtime.exceptionThrown')
        problems.push(`exception: ${p.exceptionDetails.exception?.description ?? p.exceptionDetails.text}`);
      else if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'warning'))
        problems.push(`console.${p.type}: ${p.args.map((a: any) => a.value ?? a.description).join(' ')}`);
      else if (m.method === 'Network.loadingFailed')
        problems.push(`load failed: ${p.errorText}${p.blockedReason ? ` (blocked: ${p.blockedReason})` : ''}`);
      else if (m.method === 'Network.requestWillBeSent') requests.push(p.request.url);
      else if (m.method === 'Page.loadEventFired') loaded();
    });
    for (const domain of ['Page', 'Runtime', 'Log', 'Network', 'DOM']) await call(`${domain}.enable`, {}, sessionId);
    await call(
      'Emulation.setDeviceMetricsOverride',
      { width: options.width, height: options.height, deviceScaleFactor: 1, mobile: false },
      sessionId,
    );
    const navigated = await call('Page.navigate', { url }, sessionId);
    if (navigated.errorText) problems.push(`navigation: ${navigated.errorText}`);
    await withTimeout(Promise.race([loadFired, exited]), 30_000, `loading ${url}`);

    const { root } = await call('DOM.getDocument', { depth: -1 }, sessionId);
    const counts: Record<string, number> = {};
    for (const [name, selector] of Object.entries(options.selectors)) {
      const { nodeIds } = await call('DOM.querySelectorAll', { nodeId: root.nodeId, selector }, sessionId);
      counts[name] = nodeIds.length;
    }
    const boxes: LoadedPage['boxes'] = {};
    for (const [name, selector] of Object.entries(options.boxes ?? {})) {
      const { nodeIds } = await call('DOM.querySelectorAll', { nodeId: root.nodeId, selector }, sessionId);
      boxes[name] = [];
      for (const nodeId of nodeIds as number[]) {
        const { model } = await call('DOM.getBoxModel', { nodeId }, sessionId);
        const [x1, y1, , , x3, y3] = model.border as number[];
        boxes[name].push({ x: x1!, y: y1!, width: x3! - x1!, height: y3! - y1! });
      }
    }
    const { outerHTML: dom } = await call('DOM.getOuterHTML', { nodeId: root.nodeId }, sessionId);
    const { data } = await call('Page.captureScreenshot', { format: 'png' }, sessionId);
    await call('Browser.close').catch(() => {});
    return { png: Buffer.from(data, 'base64'), problems, requests, counts, boxes, dom };
  } finally {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child!.once('exit', r));
      setTimeout(() => child!.kill('SIGKILL'), 5000).unref();
      await gone;
    }
    await rm(profile, { recursive: true, force: true });
  }
}
