/**
 * The layers of src/, highest first. A module may import from its own layer and the layers
 * below it, never from one above; and no import cycle anywhere. `npm run lint` runs this.
 */
const layers = ["cli", "commands", "app", "phases", "checks", "adapters", "loader", "spec", "catalog", "config", "engine"];
const paths = {
  cli: "^src/cli\\.ts$",
  // The config loader applies cross-field rules that use the SageMaker spec; the schema sits low.
  loader: "^src/config/load(-rules|-warnings)?\\.ts$",
  config: "^src/config/(?!load(-rules|-warnings)?\\.ts$)",
};
const dir = (layer) => paths[layer] ?? `^src/${layer}/`;

module.exports = {
  forbidden: [
    ...layers.slice(1).map((layer, i) => ({
      name: `${layer}-imports-upward`,
      comment: `${layer}/ sits below ${layers.slice(0, i + 1).join(", ")}: it must not import from them`,
      severity: "error",
      from: { path: dir(layer) },
      to: { path: layers.slice(0, i + 1).map(dir).join("|") },
    })),
    {
      name: "no-cycles",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    exclude: { path: "\\.d\\.ts$" },
  },
};
