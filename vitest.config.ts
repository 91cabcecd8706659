import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration suites share one dockerd, registry and moto; keep files from stepping on each other.
    fileParallelism: false,
    reporters: process.env.CI ? ["verbose"] : ["default"],
  },
});
