// The forwarder's "nothing was sent" cases against real sockets: a port nobody listens on refuses
// at once; a listener whose accept queue is full drops the SYN, as a firewall dropping traffic to a
// canary Service without endpoints does, and the forward gives up after the connect timeout
// instead of holding the request for the whole request timeout.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_CONNECT_TIMEOUT_MS, CanaryClient } from './forward.ts';

/** A child that listens with a small backlog and blocks its event loop, so it never accepts. */
const BLACKHOLE = `
const net = require('node:net');
const server = net.createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.send(server.address().port, () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000));
});`;

const request = { method: 'POST', url: '/v1/models/m:predict', headers: {} };
const client = new CanaryClient(30_000);
let child: ChildProcess | undefined;
const fillers: net.Socket[] = [];
let blackhole = 0;

/** Whether a new connection to `port` opens within `ms`. */
function opens(port: number, ms: number): Promise<boolean> {
  const socket = net.connect(port, '127.0.0.1');
  fillers.push(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(true));
    setTimeout(() => resolve(false), ms);
  });
}

beforeAll(async () => {
  child = spawn(process.execPath, ['-e', BLACKHOLE], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  blackhole = await new Promise<number>((resolve) =>
    child!.once('message', (port) => resolve(port as number)),
  );
  // Connections the kernel completes for it fill its accept queue; then every SYN is dropped.
  for (let i = 0; i < 16 && (await opens(blackhole, 300)); i++);
});

afterAll(() => {
  for (const s of fillers) s.destroy();
  child?.kill('SIGKILL');
  client.close();
});

describe('forwarding to a canary that cannot be reached', () => {
  it('leaves the request to this pod when the connection is refused', async () => {
    const free = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => free.once('listening', resolve));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    const answer = await client.forward(`http://127.0.0.1:${port}`, request, Buffer.from('{}'), 'test');
    expect(answer).toMatchObject({ kind: 'unreachable', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('leaves the request to this pod when no connection opens within the connect timeout', async () => {
    const started = Date.now();
    const answer = await client.forward(`http://127.0.0.1:${blackhole}`, request, Buffer.from('{}'), 'test');
    const took = Date.now() - started;
    expect(answer).toMatchObject({ kind: 'unreachable' });
    expect(took).toBeGreaterThanOrEqual(CANARY_CONNECT_TIMEOUT_MS - 50);
    expect(took).toBeLessThan(CANARY_CONNECT_TIMEOUT_MS + 2_000);
  });
});
