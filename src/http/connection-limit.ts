/**
 * Open connections per remote address, bounded.
 *
 * MAX_CONNECTIONS bounds a port's connections, but one client alone could hold all of them (a
 * connection that sends half a request is kept for up to the 66 s header timeout), and then the
 * kubelet's probes and every other client are refused. So each address may hold at most `max`;
 * past it a new connection is closed as soon as it is accepted, like one past MAX_CONNECTIONS.
 * The table holds only addresses with a connection open, so it is bounded by MAX_CONNECTIONS.
 * Addresses count whole: in a cluster each pod has its own, and behind one address (a node's
 * SNAT, a port-forward on loopback) the clients share its allowance.
 */
import type { Socket } from 'node:net';

export class PerAddressLimit {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly onDrop: () => void,
  ) {}

  /** Call on a server's 'connection': counts `sock` against its address, or closes it (false). */
  admit(sock: Socket): boolean {
    const addr = sock.remoteAddress ?? '';
    const n = this.open.get(addr) ?? 0;
    if (n >= this.max) {
      sock.destroy();
      this.onDrop();
      return false;
    }
    this.open.set(addr, n + 1);
    sock.once('close', () => {
      const left = (this.open.get(addr) ?? 1) - 1;
      if (left > 0) this.open.set(addr, left);
      else this.open.delete(addr);
    });
    return true;
  }
}
