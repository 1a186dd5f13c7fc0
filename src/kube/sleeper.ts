/** A sleep that stop() can cut short: loops that wait between attempts wake at once on shutdown. */
export class Sleeper {
  private wake: (() => void) | undefined;
  private stopped = false;

  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wake === done) self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  /** Ends the current sleep now (later sleeps still wait). */
  interrupt(): void {
    this.wake?.();
  }

  /** Ends the current sleep and makes every later one return at once. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }
}
