// One port for TLS and plain HTTP: the first byte of a connection decides (0x16 starts a TLS
// handshake). Tokens and keys are served over https; browsers may use http on the same port.
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';

export interface DualListener {
  server: Server;
  /** Destroys every open connection (keep-alive clients would otherwise hold close() open). */
  destroyConnections(): void;
}

export function createDualListener(
  handler: RequestListener,
  tls: { cert: string; key: string },
): DualListener {
  const http = createHttpServer({ keepAliveTimeout: 5000 }, handler);
  const https = createHttpsServer(
    { cert: tls.cert, key: tls.key, keepAliveTimeout: 5000 },
    handler,
  );
  const sockets = new Set<Socket>();
  // TLS errors (e.g. a client that distrusts the CA) must not crash the process.
  https.on('tlsClientError', (_err, socket) => socket.destroy());
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // A connection that never says anything is dropped; afterwards the http(s) server's own timeouts apply.
    socket.setTimeout(10_000, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(first);
      (first[0] === 0x16 ? https : http).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
  return {
    server,
    destroyConnections: () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
  };
}
