import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';

/**
 * Listens on the Unix socket a container's agent connects to (through a bind mount) and hands
 * `onConnection` each connection, set up for small messages sent at once.
 */
export async function listenAgentSocket(socketPath: string, onConnection: (sock: Socket) => void): Promise<Server> {
  await rm(socketPath, { force: true });
  const server = createServer((sock) => {
    sock.setNoDelay(true);
    onConnection(sock);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  // The container's root has no CAP_DAC_OVERRIDE: the socket must be writable by its owner class.
  await chmod(socketPath, 0o666);
  return server;
}

/** Stops listening and removes the socket file. */
export async function closeAgentSocket(server: Server, socketPath: string): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(socketPath, { force: true });
}
