import net from 'node:net';
import { readFileSync } from 'node:fs';
import { getFreeServicePort } from '../../src/shared/ports.js';

/** Binds the port on 127.0.0.1 and lets it go: true when it was free. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

test('service ports come from below the ephemeral range, free, and never twice', async () => {
  const ephemeralFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports = [];
  for (let i = 0; i < 20; i += 1) ports.push(await getFreeServicePort());
  expect(new Set(ports).size).toBe(ports.length);
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(10_000);
    expect(port).toBeLessThan(Math.min(20_000, ephemeralFrom));
    expect(await bindable(port)).toBe(true);
  }
});
