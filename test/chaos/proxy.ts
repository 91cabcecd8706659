import net from "node:net";

/**
 * A loopback proxy that can be cut: in front of the Docker daemon's unix socket (used through
 * DOCKER_HOST=unix://…) or the registry's TCP port. It never touches the real daemon or registry:
 * a fault is this proxy resetting connections or refusing new ones.
 *
 *   const proxy = await startProxy({ listen: "/tmp/x.sock", upstream: "/var/run/docker.sock" });
 *   proxy.resetWhen(/^POST \S*\/build/, 256 * 1024);   // reset that request's connection mid-upload
 *   proxy.cutAfter(/^POST \S*\/containers\/\S+\/start/); // once answered, cut everything
 *   proxy.restore();
 */
export interface FaultProxy {
  /** The unix socket path or "127.0.0.1:PORT". */
  readonly address: string;
  /** Request lines (first line of each HTTP request seen from the client). */
  readonly requests: string[];
  /** Connections reset by a fault so far. */
  readonly resets: number;
  /**
   * Reset (TCP RST) every connection whose request line matches, once `afterBytes` of its request
   * have gone upstream; `times` such resets (default 1; -1: until restore()).
   */
  resetWhen(line: RegExp, afterBytes: number, times?: number): void;
  /** Once a request matching `line` has been answered, reset every connection and refuse new ones. */
  cutAfter(line: RegExp): void;
  /** Refuse (reset) every connection from now on. */
  cut(): void;
  /** Pass everything again. */
  restore(): void;
  close(): Promise<void>;
}

type Target = string | { host: string; port: number };

function connect(target: Target): net.Socket {
  return typeof target === "string"
    ? net.connect({ path: target, allowHalfOpen: true })
    : net.connect({ port: target.port, host: target.host, allowHalfOpen: true });
}

export async function startProxy(options: { listen: Target; upstream: Target }): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  const requests: string[] = [];
  let resets = 0;
  let down = false;
  let resetRule: { line: RegExp; afterBytes: number; times: number } | undefined;
  let cutRule: RegExp | undefined;

  // TCP: an RST (the peer sees ECONNRESET); a unix socket has no RST, so it is closed abruptly.
  const reset = (socket: net.Socket) => {
    if (socket.destroyed) return;
    try {
      socket.resetAndDestroy();
    } catch {
      socket.destroy();
    }
  };
  const cutAll = () => {
    down = true;
    for (const s of sockets) reset(s);
    sockets.clear();
  };

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    if (down) {
      resets++;
      reset(client);
      return;
    }
    const upstream = connect(options.upstream);
    sockets.add(client);
    sockets.add(upstream);
    let sent = 0;
    let watching: RegExp | undefined; // this connection carries a request the reset rule matches
    let awaitingAnswerTo: RegExp | undefined;
    client.on("data", (chunk: Buffer) => {
      const text = chunk.subarray(0, 2048).toString("latin1");
      const line = /^(GET|POST|PUT|PATCH|HEAD|DELETE) [^\r\n]+/.exec(text)?.[0];
      if (line) {
        requests.push(line);
        if (resetRule?.line.test(line)) {
          watching = resetRule.line;
          sent = 0;
        }
        if (cutRule?.test(line)) awaitingAnswerTo = cutRule;
      }
      if (watching && resetRule && resetRule.line === watching) {
        sent += chunk.length;
        if (sent >= resetRule.afterBytes) {
          if (resetRule.times > 0) resetRule.times--;
          if (resetRule.times === 0) resetRule = undefined;
          watching = undefined;
          resets++;
          reset(client);
          reset(upstream);
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      client.write(chunk);
      if (awaitingAnswerTo && /^HTTP\/1\.[01] \d{3}/.test(chunk.subarray(0, 16).toString("latin1"))) {
        awaitingAnswerTo = undefined;
        cutRule = undefined;
        // Let the answer reach the client, then cut.
        setTimeout(cutAll, 50);
      }
    });
    // Half-close passes through (docker attach closes its write side and keeps reading).
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    const forget = () => {
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", forget);
    upstream.on("close", forget);
    client.on("error", () => reset(upstream));
    upstream.on("error", () => reset(client));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (typeof options.listen === "string") server.listen(options.listen, resolve);
    else server.listen(options.listen.port, options.listen.host, resolve);
  });
  const bound = server.address();
  const address = typeof bound === "string" ? bound : `127.0.0.1:${(bound as net.AddressInfo).port}`;
  return {
    address,
    requests,
    get resets() {
      return resets;
    },
    resetWhen(line, afterBytes, times = 1) {
      resetRule = { line, afterBytes, times };
    },
    cutAfter(line) {
      cutRule = line;
    },
    cut: cutAll,
    restore() {
      down = false;
      resetRule = undefined;
      cutRule = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
}
