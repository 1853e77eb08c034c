// Runs the demo's latency proxy in a worker thread (started by latency.ts), so
// the proxy's own CPU work does not land in the event loop of the contenders
// it is slowing down. Posts the proxy's port, closes it on 'close' and
// answers 'closed'.
import { parentPort, workerData } from 'node:worker_threads';
import { startLatencyProxy } from '../demo/latency-proxy';

interface ProxyRequest {
  target: { host: string; port: number };
  latencyMs: number;
}

async function main(): Promise<void> {
  const { target, latencyMs } = workerData as ProxyRequest;
  const proxy = await startLatencyProxy(target, latencyMs);
  parentPort!.on('message', (message) => {
    if (message === 'close') void proxy.close().then(() => parentPort!.postMessage('closed'));
  });
  parentPort!.postMessage({ port: proxy.port });
}

main().catch((error) => {
  throw error; // reaches the main thread as the worker's 'error' event
});
