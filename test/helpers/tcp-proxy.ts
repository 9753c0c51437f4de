// A TCP proxy in front of PostgreSQL that a test can cut and restore: a real outage as the
// ingester sees it (connections reset, new ones refused), without touching the shared server.
import net from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export class TcpProxy {
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  readonly #pairs = new Set<[net.Socket, net.Socket]>();

  private constructor(
    readonly port: number,
    private target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), target);
    await proxy.up();
    return proxy;
  }

  /**
   * Points the proxy at another server and resets every open connection, as a Kubernetes
   * Service or HAProxy does when the primary moves: clients reconnect to the new target.
   */
  moveTo(target: { host: string; port: number }): void {
    this.target = target;
    for (const s of this.#sockets) s.destroy();
  }

  async up(): Promise<void> {
    if (this.#server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      const pair: [net.Socket, net.Socket] = [client, upstream];
      this.#pairs.add(pair);
      client.on('close', () => this.#pairs.delete(pair));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.#server = server;
  }

  /**
   * The connections open now stop forwarding in both directions without being closed, as behind
   * a dropped NAT entry or a stale route; connections opened afterwards work. Returns how many.
   */
  freeze(): number {
    const frozen = [...this.#pairs];
    for (const [client, upstream] of frozen) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
    this.#pairs.clear();
    return frozen.length;
  }

  /** A proxy in front of the test server's Postgres, and the database URL through it; down at the end. */
  static async forDatabase(
    t: { teardown(fn: () => unknown): void },
    url: string,
  ): Promise<{ proxy: TcpProxy; url: string }> {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
    t.teardown(() => proxy.down());
    return { proxy, url: url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`) };
  }

  /** Cuts every open connection and refuses new ones. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
