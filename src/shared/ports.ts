import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Ports this process already handed out: the OS may offer a just-released port again. */
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it), never one returned before here. */
export async function getFreePort(): Promise<number> {
  for (;;) {
    const port = await probeFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * A free port in [low, high], picked at random and probed, never one returned before here. For a peer that
 * cannot take the OS's ephemeral ports (e.g. the Temporal server stores membership ports as SQL smallint).
 */
export async function getFreePortInRange(low: number, high: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    if (await probePort(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${low}-${high}`);
}

/**
 * A free port for a service that another process binds later (seconds later: a stack starts its parts first). Taken
 * below the OS's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range), in 10000-19999: a port the OS
 * picked for us (getFreePort) is in that range, and any outgoing connection on the machine can be given it as its
 * source port before the service binds it. Below 20000 also keeps clear of the Temporal cluster's port block.
 */
export async function getFreeServicePort(): Promise<number> {
  return getFreePortInRange(10_000, Math.min(19_999, ephemeralPortsFrom() - 1));
}

function ephemeralPortsFrom(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 10_100 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function probePort(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function probeFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe socket'));
      });
    });
  });
}

/** True when something accepts TCP connections on host:port. */
export async function isPortOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
