/** What a gate concluded, from evidence it parsed. `not-checked` is shown, never hidden. */
export type GateStatus = "pass" | "fail" | "warn" | "not-checked";

export interface GateResult {
  id: string;
  title: string;
  status: GateStatus;
  message: string;
  hint?: string;
  /** Where the problem is: a file and line for a Dockerfile finding. */
  location?: { file: string; line?: number };
  /** Extra lines shown under a failure: a log tail, a list of files. */
  details?: string[];
  evidence?: unknown;
}

export function gate(
  id: string,
  title: string,
  status: GateStatus,
  message: string,
  extra: Omit<GateResult, "id" | "title" | "status" | "message"> = {},
): GateResult {
  return { id, title, status, message, ...extra };
}

/** What one cheap read found about a passed phase's product. */
export type Reality =
  | { type: "confirmed"; detail: string }
  /** It is not there any more: "endpoint gen3d-async no longer exists". */
  | { type: "gone"; reason: string }
  /** It is there but not as gen3d left it: "config changed outside gen3d: …". */
  | { type: "changed"; reason: string; changes: string[] };
