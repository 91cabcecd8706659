import { afterAll, beforeAll, beforeEach } from "vitest";
import { type MotoServer, type StartMotoOptions, startMoto } from "./moto/moto.js";

/**
 * One moto per test file: started before the first test, reset before each (every service and
 * the harness' endpoint behaviours), stopped after the last. Returns a stand-in that reaches the
 * running server, so tests write `moto.endpoint` as usual.
 */
export function useMoto(options?: StartMotoOptions): MotoServer {
  let server: MotoServer | undefined;
  beforeAll(async () => {
    server = await startMoto(options);
  });
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(async () => {
    await server?.reset();
  });
  return new Proxy({} as MotoServer, {
    get(_target, key) {
      if (!server) throw new Error("moto is not started yet: use it inside a test or a hook");
      const value = Reflect.get(server, key);
      return typeof value === "function" ? value.bind(server) : value;
    },
  });
}
