// The demo (npm run demo): its latency proxy, an end-to-end run, its data check.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startLatencyProxy } from '../demo/latency-proxy';
import { differences, type Snapshot } from '../demo/workload';
import { databaseSource } from './support/setup';

const root = path.resolve(__dirname, '..');

/** A TCP server that sends back what it receives. */
async function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Sends `payload` and resolves with the first `payload.length` bytes that come back. */
function roundTrip(socket: net.Socket, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= payload.length) {
        socket.removeListener('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(payload);
  });
}

describe('the demo', function () {
  this.timeout(120_000);

  it('latency proxy: forwards bytes unchanged and in order, large payloads too, and closes both sides', async () => {
    const echo = await echoServer();
    const proxy = await startLatencyProxy({ host: '127.0.0.1', port: echo.port }, 10);
    const socket = net.connect(proxy.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    for (const size of [1, 1000, 8 * 1024 * 1024]) {
      const payload = randomBytes(size);
      expect((await roundTrip(socket, payload)).equals(payload), `${size} bytes`).to.equal(true);
    }
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.end();
    await closed;
    await proxy.close();
    await echo.close();
  });

  it('latency proxy: adds about the latency it is given to each round trip', async () => {
    const echo = await echoServer();
    const proxy = await startLatencyProxy({ host: '127.0.0.1', port: echo.port }, 50);
    const socket = net.connect(proxy.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await roundTrip(socket, Buffer.from('ping'));
      times.push(performance.now() - started);
    }
    socket.destroy();
    await proxy.close();
    await echo.close();
    const median = times.sort((a, b) => a - b)[2];
    expect(median).to.be.at.least(49);
    expect(median).to.be.below(90);
  });

  const demo = async (args: string[], env: NodeJS.ProcessEnv) => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'demo/index.ts', ...args], { cwd: root, env });
    return stdout;
  };
  const withoutDatabase = () => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    return env;
  };

  it('runs end to end on the embedded PostgreSQL, with latency, and finds the data the same', async () => {
    const output = await demo(['--count', '5', '--latency', '2'], withoutDatabase());
    expect(output).to.contain('database: embedded PostgreSQL (PGlite)');
    expect(output).to.match(/plain +15 +17 +15 /); // 3 inserts per user + BEGIN, COMMIT
    expect(output).to.match(/batch +2 +5 +15 /); // BEGIN with the catalog and the first id, a block of 32 ids, 2 INSERTs, COMMIT
    expect(output).to.contain('data check: both wrote the same 5 users and 10 addresses');
  });

  it('runs end to end on DATABASE_URL', async function () {
    // PGlite shares one session between connections: the demo's search_path would leak into this run's
    if (databaseSource() !== 'DATABASE_URL') this.skip();
    const output = await demo(['--count', '3', '--mode', 'batch'], process.env);
    expect(output).to.contain(`database: ${process.env.DATABASE_URL}`);
    expect(output).to.match(/batch +2 +5 +9 /);
  });

  it('prints its options with --help and refuses bad ones', async () => {
    expect(await demo(['--help'], withoutDatabase())).to.contain('--latency MS');
    const refused = await demo(['--mode', 'fast'], withoutDatabase()).catch((error) => error);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain('--mode must be plain, batch or both');
  });

  it('data check: reports users or addresses that differ', () => {
    const data: Snapshot = {
      users: [{ id: '1', name: 'user 0' }, { id: '2', name: 'user 1' }],
      addresses: [{ id: '1', user: 'user 0', email: 'a' }, { id: '2', user: 'user 1', email: 'b' }],
    };
    expect(differences(data, structuredClone(data), ['plain', 'batch'])).to.deep.equal([]);
    const moved = structuredClone(data);
    moved.addresses[1].user = 'user 0';
    expect(differences(data, moved, ['plain', 'batch'])).to.deep.equal([
      'addresses #2: plain {"id":"2","user":"user 1","email":"b"}, batch {"id":"2","user":"user 0","email":"b"}',
    ]);
    expect(differences(data, { ...data, users: data.users.slice(1) }, ['plain', 'batch'])).to.include('users: plain wrote 2, batch wrote 1');
  });
});
