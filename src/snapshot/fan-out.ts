import { PassThrough, Writable } from 'node:stream';

/**
 * One stream written to several destinations at once, in one pass: each chunk goes to every
 * branch still alive, and the next chunk is taken only when every live branch has room for it,
 * so the slowest destination sets the pace and memory stays bounded by the branches' buffers
 * (their highWaterMark each), whatever the stream's length.
 *
 * A branch can be cut off (`cut`): it is destroyed with the error given (its consumer, the
 * store's upload, sees a failed body and removes its partial object), and the others go on. The
 * fan-out fails only when no branch is left. An error of the source destroys every branch.
 */
export class FanOut extends Writable {
  readonly branches: PassThrough[];
  private readonly live = new Set<PassThrough>();
  /** Called when the branches it waited for have drained or were cut. */
  private waiting: { pending: Set<PassThrough>; done: () => void } | undefined;

  constructor(count: number) {
    super();
    this.branches = Array.from({ length: count }, () => new PassThrough());
    for (const b of this.branches) {
      this.live.add(b);
      // A branch may be destroyed (the source failed, or it was cut) before its store has started
      // reading it (a store checks the key first): without a listener that 'error' would be an
      // uncaught exception. Its reader still gets the error: a destroyed stream keeps it in
      // `errored`, which async iteration and finished() report.
      b.on('error', () => undefined);
    }
  }

  /** Cut one branch off: destroyed with `reason`, never written to again. */
  cut(index: number, reason: Error): void {
    const branch = this.branches[index];
    if (!branch || !this.live.delete(branch)) return;
    branch.destroy(reason);
    this.release(branch);
  }

  /** How many branches are still fed. */
  get liveCount(): number {
    return this.live.size;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.live.size === 0) {
      callback(new Error('every destination failed'));
      return;
    }
    const pending = new Set<PassThrough>();
    for (const branch of this.live) if (!branch.write(chunk)) pending.add(branch);
    if (pending.size === 0) {
      callback();
      return;
    }
    const done = () => {
      this.waiting = undefined;
      callback(this.live.size === 0 ? new Error('every destination failed') : null);
    };
    this.waiting = { pending, done };
    for (const branch of pending) branch.once('drain', () => this.release(branch));
  }

  override _final(callback: (err?: Error | null) => void): void {
    for (const branch of this.live) branch.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // The source failed (or the whole save was aborted): no branch may complete.
    if (err) for (const branch of this.live) branch.destroy(err);
    this.live.clear();
    this.release();
    callback(err);
  }

  private release(branch?: PassThrough): void {
    const w = this.waiting;
    if (!w) return;
    if (branch) w.pending.delete(branch);
    else w.pending.clear();
    if (w.pending.size === 0) w.done();
  }
}
