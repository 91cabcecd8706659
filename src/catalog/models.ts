/** Where each model comes from: shown at the end of init, beside where its files go. */
export const MODEL_SOURCES = {
  sam3: {
    title: "SAM 3",
    from: "Hugging Face facebook/sam3 (gated: accept the licence on the model page, then `hf auth login`)",
    files: "config.json, model.safetensors, preprocessor_config.json",
  },
  sam3d: {
    title: "SAM 3D Objects",
    from: "Hugging Face facebook/sam-3d-objects (gated: request access and accept the licence first)",
    files: "pipeline.yaml and the checkpoints it names (sam-3d-objects' checkpoints/hf/)",
  },
} as const;

/** Where a configured model's weights come from, when its name is one gen3d knows. */
export function modelSource(name: string): (typeof MODEL_SOURCES)[keyof typeof MODEL_SOURCES] | undefined {
  return Object.hasOwn(MODEL_SOURCES, name) ? MODEL_SOURCES[name as keyof typeof MODEL_SOURCES] : undefined;
}
