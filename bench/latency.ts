// Added network latency for a cell: the demo's TCP proxy (half the latency
// each way) in a worker thread, or nothing at 0 ms, where contenders connect
// to the server directly.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Client } from 'pg';
import { medianRoundTripMs } from '../demo/latency-proxy';

export interface Link {
  latencyMs: number;
  /** The proxy's port on 127.0.0.1, or undefined for a direct connection. */
  port?: number;
  close(): Promise<void>;
}

export async function openLink(target: URL, latencyMs: number): Promise<Link> {
  if (latencyMs === 0) return { latencyMs, close: async () => undefined };
  // A worker does not inherit tsx's loader for a .ts entry point: register it first.
  const entry = path.join(__dirname, 'latency-worker.ts');
  const worker = new Worker(`require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(entry)});`, {
    eval: true,
    workerData: { target: { host: target.hostname, port: Number(target.port || 5432) }, latencyMs },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (message: { port: number }) => resolve(message.port));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`latency proxy worker exited with code ${code}`)));
  });
  // The worker must not keep the process alive after an interrupt.
  worker.unref();
  return {
    latencyMs,
    port,
    close: async () => {
      const closed = new Promise((resolve) => worker.once('message', resolve));
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    },
  };
}

/** Median time of 5 `select 1` over a fresh connection to `url`, after one that warms it. */
export async function measureRoundTripMs(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await medianRoundTripMs(() => client.query('select 1'));
  } finally {
    await client.end();
  }
}
