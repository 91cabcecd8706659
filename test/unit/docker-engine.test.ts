import { describe, expect, it } from "vitest";
import { engineEndpointFor } from "../../src/adapters/docker-engine.js";

describe("the Engine API talks to the daemon the docker CLI uses", () => {
  it("follows the current context's socket, and keeps to the CLI where it cannot follow", () => {
    expect(engineEndpointFor('{"Host":"unix:///var/run/docker.sock","SkipTLSVerify":false}')).toEqual({
      socketPath: "/var/run/docker.sock",
    });
    // colima, Docker Desktop, rootless: a socket elsewhere.
    expect(engineEndpointFor('{"Host":"unix:///Users/me/.colima/default/docker.sock"}')).toEqual({
      socketPath: "/Users/me/.colima/default/docker.sock",
    });
    expect(engineEndpointFor('{"Host":"npipe:////./pipe/docker_engine"}')).toEqual({
      socketPath: "//./pipe/docker_engine",
    });
    // Remote daemons (TLS material, ssh) stay with the CLI, which knows how to reach them.
    expect(engineEndpointFor('{"Host":"tcp://10.0.0.5:2376"}')).toBeUndefined();
    expect(engineEndpointFor('{"Host":"ssh://me@builder"}')).toBeUndefined();
    // No answer from `docker context inspect`: dockerode's own defaults.
    expect(engineEndpointFor("")).toEqual({});
  });
});
