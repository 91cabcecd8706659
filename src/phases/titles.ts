/** Phase names and titles, importable without loading any phase's code (status must start fast). */
export const PHASE_TITLES: ReadonlyArray<{ id: number; name: string; title: string }> = [
  { id: 1, name: "preflight", title: "Preflight checks" },
  { id: 2, name: "build", title: "Build the image" },
  { id: 3, name: "local-test", title: "Test the container locally" },
  { id: 4, name: "push", title: "Push to ECR and verify the digest" },
  { id: 5, name: "model", title: "Create the SageMaker model" },
  { id: 6, name: "endpoint-config", title: "Create the async endpoint config" },
  { id: 7, name: "deploy", title: "Deploy the endpoint" },
  { id: 8, name: "autoscaling", title: "Configure scale-to-zero autoscaling" },
  { id: 9, name: "integration", title: "Integration test through the endpoint" },
  { id: 10, name: "scale-to-zero", title: "Wait for scale to zero" },
];

export function phaseTitle(id: number): { id: number; name: string; title: string } {
  const found = PHASE_TITLES.find((p) => p.id === id);
  if (!found) throw new Error(`no phase ${id}`);
  return found;
}
