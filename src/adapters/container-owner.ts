import os from "node:os";

/**
 * Every container gen3d creates carries who created it (PID and host), so a later run can tell a
 * container left by a killed run (its owner is gone) from one a live run on this host still uses.
 */
export const OWNER_PID_LABEL = "gen3d.owner-pid";
export const OWNER_HOST_LABEL = "gen3d.owner-host";

export function ownerLabels(pid = process.pid, host = os.hostname()): Record<string, string> {
  return { [OWNER_PID_LABEL]: String(pid), [OWNER_HOST_LABEL]: host };
}

/** The docker subcommands that create a container, as argv prefixes. */
const CREATES = [["run"], ["create"], ["container", "run"], ["container", "create"]];

/** `args` with the owner labels added right after the subcommand when it creates a container. */
export function withOwnerLabels(args: readonly string[], labels = ownerLabels()): readonly string[] {
  const prefix = CREATES.find((p) => p.every((word, i) => args[i] === word));
  if (!prefix) return args;
  const flags = Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
  return [...prefix, ...flags, ...args.slice(prefix.length)];
}

/** Whether a process that owns a container still runs here. A PID on another host is assumed alive. */
export function ownerAlive(labels: { pid?: string; host?: string }, host = os.hostname()): boolean {
  const pid = Number(labels.pid);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (labels.host !== undefined && labels.host !== host) return true;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
