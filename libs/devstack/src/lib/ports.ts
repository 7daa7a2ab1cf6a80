import { createServer } from 'node:net';
import { PortInUseError } from './errors';

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', () =>
      reject(new PortInUseError(`port ${port} for ${what} is already in use; stop whatever holds it, or start with --free-ports`)),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}
