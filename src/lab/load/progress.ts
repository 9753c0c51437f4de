// Progress of a long run: a redrawn bar with rate and time left on a terminal, plain periodic
// lines when the output is a file or a pipe (CI logs stay readable).
export class Progress {
  readonly #tty: boolean;
  readonly #started = Date.now();
  #lastLine = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly lineIntervalMs = 5_000,
  ) {
    this.#tty = Boolean(stream.isTTY);
  }

  update(done: number, note = ''): void {
    const seconds = (Date.now() - this.#started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const left = rate > 0 ? Math.max(0, (this.total - done) / rate) : Infinity;
    const share = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const text = `${done}/${this.total} ${(share * 100).toFixed(1)}% ${Math.round(rate)}/s, ${Number.isFinite(left) ? `${Math.ceil(left)} s left` : 'time left unknown'}${note ? `, ${note}` : ''}`;
    if (this.#tty) {
      const width = 30;
      const filled = Math.round(share * width);
      this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
    } else if (Date.now() - this.#lastLine >= this.lineIntervalMs) {
      this.stream.write(`${this.label}: ${text}\n`);
      this.#lastLine = Date.now();
    }
  }

  done(note = ''): void {
    if (this.#tty) this.stream.write('\n');
    this.stream.write(
      `${this.label}: finished in ${((Date.now() - this.#started) / 1000).toFixed(1)} s${note ? `, ${note}` : ''}\n`,
    );
  }
}
