/**
 * Closing an HTTP server without waiting on connections that carry no request.
 *
 * `server.close()` + `closeIdleConnections()` leave two kinds of connection open until their own
 * timeouts: one that was opened but never sent a request (a browser's preconnect, the spare a
 * client pool opens after an aborted fetch), and one whose request finishes after the close began
 * and then sits in keep-alive. Either held a stop for the whole SHUTDOWN_TIMEOUT_MS. So the
 * server's connections are tracked with their requests in flight: at close, the ones with none
 * are ended, and the rest are ended as their last response is done.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';

export interface GracefulServer {
  /** Stops accepting, lets requests in flight finish (up to deadlineMs), then closes what is left. */
  close(deadlineMs: number): Promise<void>;
}

export function graceful(server: http.Server): GracefulServer {
  /** Every open connection with its requests in flight. */
  const inFlight = new Map<Socket, number>();
  let closing = false;

  server.on('connection', (sock: Socket) => {
    inFlight.set(sock, 0);
    sock.once('close', () => inFlight.delete(sock));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const sock = req.socket;
    inFlight.set(sock, (inFlight.get(sock) ?? 0) + 1);
    res.once('close', () => {
      const left = inFlight.get(sock);
      if (left === undefined) return; // the connection closed first
      const n = left - 1;
      inFlight.set(sock, n);
      if (closing && n === 0) sock.destroySoon();
    });
  });

  return {
    async close(deadlineMs: number): Promise<void> {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // destroySoon() closes once what is written is sent: a response just done still reaches its client.
      for (const [sock, n] of inFlight) if (n === 0) sock.destroySoon();
      const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}
