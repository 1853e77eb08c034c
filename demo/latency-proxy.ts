// A TCP proxy that makes every round trip through it about `latencyMs`
// slower: each chunk waits half the latency in each direction. Chunks leave
// in the order they came; a direction whose backlog grows past a limit, or
// whose destination is full, pauses its source; an end or error on one side
// closes the other once what is pending has been written.
import * as net from 'node:net';

export interface LatencyProxy {
  /** `host:port` to connect to instead of the target. */
  address: string;
  port: number;
  close(): Promise<void>;
}

const BACKLOG_LIMIT = 4 * 1024 * 1024;

export async function startLatencyProxy(target: { host: string; port: number }, latencyMs: number): Promise<LatencyProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    delayedPipe(client, upstream, latencyMs / 2);
    delayedPipe(upstream, client, latencyMs / 2);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Copies `from` to `to`, each chunk `delayMs` later than it arrived, in order. */
function delayedPipe(from: net.Socket, to: net.Socket, delayMs: number): void {
  const pending: { chunk: Buffer; due: number }[] = [];
  let backlog = 0;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  let destinationFull = false;

  const drain = () => {
    timer = undefined;
    while (pending.length > 0 && !destinationFull) {
      const wait = pending[0].due - performance.now();
      if (wait > 0) {
        timer = setTimeout(drain, wait);
        return;
      }
      const { chunk } = pending.shift()!;
      backlog -= chunk.length;
      destinationFull = !to.write(chunk);
    }
    if (backlog < BACKLOG_LIMIT && from.isPaused()) from.resume();
    if (pending.length === 0 && ended) to.end();
  };

  to.on('drain', () => {
    destinationFull = false;
    if (!timer) drain();
  });
  from.on('data', (chunk: Buffer) => {
    pending.push({ chunk, due: performance.now() + delayMs });
    backlog += chunk.length;
    if (backlog >= BACKLOG_LIMIT) from.pause();
    if (!timer && !destinationFull) drain();
  });
  from.on('end', () => {
    ended = true;
    if (!timer && !destinationFull) drain();
  });
}

/** Median time of 5 runs of `selectOne` (a `select 1`), after one that opens the connection: what a round trip costs. */
export async function medianRoundTripMs(selectOne: () => Promise<unknown>): Promise<number> {
  await selectOne();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await selectOne();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[2];
}
