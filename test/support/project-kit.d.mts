/** Types of project-kit.mjs, for the TypeScript tests that import it. */
export declare const CONTAINER_SOURCES: readonly string[];
export declare function copyContainer(containerDir: string, contextDir: string): Promise<void>;
export declare function testModels(bytes: { sam3: number; sam3d: number }): {
  name: string;
  localPath: string;
  expectedSizeBytes: number;
  gpuMemoryGb: number;
  tasks: string[];
}[];
export declare function dataPlaneSettings(maxCount: number): {
  instance: { type: string; initialCount: number; minCount: number; maxCount: number };
  timeouts: {
    startupSeconds: number;
    buildSeconds: number;
    deploySeconds: number;
    invocationSeconds: number;
    scaleToZeroSeconds: number;
  };
  scaleToZero: { coldStart: boolean };
};
export declare const awsConfig: (endpoint: string) => {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
};
export declare function seedAccount(endpoint: string, bucket: string): Promise<void>;
export declare function random(seed: number): () => number;
