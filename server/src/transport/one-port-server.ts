import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

type Handler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** OnePortServer serves HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one TCP port. */
export interface OnePortServer {
  /** listen binds and resolves with the actual port (useful with port 0). */
  listen(port: number, host: string): Promise<number>;
  /**
   * close stops accepting, lets in-flight requests finish for up to graceMs, then destroys what is left
   * (idle keep-alive and HTTP/2 sessions held open by clients would otherwise keep it open forever).
   */
  close(graceMs: number): Promise<void>;
}

// Every HTTP/2 connection with prior knowledge opens with this preface (RFC 9113 §3.4).
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * createOnePortServer sniffs the first bytes of each connection and hands the socket to the HTTP/2 or
 * the HTTP/1.1 server. Node's `http2.createServer({ allowHTTP1 })` only works with TLS, and gRPC
 * clients speak h2c while Dify and curl speak HTTP/1.1, so the port has to tell them apart itself.
 */
export function createOnePortServer(handler: Handler): OnePortServer {
  const h1 = http.createServer(handler as http.RequestListener);
  const h2 = http2.createServer({}, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const sockets = new Set<net.Socket>();
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    h2Sessions.add(session);
    session.on("close", () => h2Sessions.delete(session));
  });

  // noDelay: the sockets are accepted here, not by the HTTP servers, so their own Nagle default does not apply.
  // With Nagle on, a streamed answer written in pieces to an HTTP/1.1 keep-alive caller waits for the caller's
  // delayed ACK (tens of ms) before its last piece: half the throughput of one-at-a-time callers such as Dify's.
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    routeByPreface(socket, (isH2) => (isH2 ? h2 : h1).emit("connection", socket));
  });

  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          resolve((tcp.address() as net.AddressInfo).port);
        });
      }),
    close: async (graceMs) => {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      h1.closeIdleConnections();
      for (const session of h2Sessions) session.close();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      // A keep-alive HTTP/1.1 socket that goes idle after its last response must not hold us up.
      const idleSweep = setInterval(() => h1.closeIdleConnections(), 100);
      await closed;
      clearTimeout(timer);
      clearInterval(idleSweep);
    },
  };
}

/**
 * routeByPreface reads just enough bytes to decide, puts them back, and calls decide once.
 * It reads in paused mode (`read()`), not with a "data" listener: pausing a flowing socket by hand
 * leaves it paused for the HTTP server, which then never sees the request.
 */
function routeByPreface(socket: net.Socket, decide: (isH2: boolean) => void): void {
  let seen = Buffer.alloc(0);
  const onReadable = (): void => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const matchesSoFar = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (matchesSoFar && seen.length < H2_PREFACE.length) return; // wait for more bytes
    socket.off("readable", onReadable);
    socket.off("end", onEnd);
    socket.unshift(seen);
    decide(matchesSoFar);
  };
  const onEnd = (): void => {
    socket.destroy();
  };
  socket.on("readable", onReadable);
  socket.on("end", onEnd);
}
