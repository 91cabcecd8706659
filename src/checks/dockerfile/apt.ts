import type { Instruction } from "dockerfile-ast";
import { type GateResult, gate } from "../../engine/gate.js";
import { runContexts } from "./env.js";
import type { DockerfileInput } from "./parse.js";
import { runCommands, type ShellCommand, throughEnv } from "./shell.js";

const APT = new Set(["apt-get", "apt", "aptitude"]);
/** Subcommands that can ask debconf questions (tzdata's time zone) while packages configure. */
const CONFIGURES = new Set(["install", "reinstall", "upgrade", "dist-upgrade", "full-upgrade"]);
/** Subcommands that ask "Do you want to continue? [Y/n]" without -y. */
const CONFIRMS = new Set([...CONFIGURES, "remove", "purge", "autoremove"]);
/** apt options that take a value as the next word. */
const WITH_VALUE = new Set([
  "-o",
  "-c",
  "-t",
  "--option",
  "--config-file",
  "--target-release",
  "--default-release",
]);

function subcommand(args: (string | undefined)[]): string | undefined {
  for (let i = 1; i < args.length; i++) {
    const word = args[i];
    if (word === undefined) return undefined;
    if (WITH_VALUE.has(word)) i++;
    else if (!word.startsWith("-")) return word;
  }
  return undefined;
}

/** -y, --yes, --assume-yes, -qq (implies -y), a short cluster holding y, or -o APT::Get::Assume-Yes=true. */
export function assumesYes(args: (string | undefined)[]): boolean {
  return args.some((word, i) => {
    if (word === undefined) return false;
    if (["-y", "--yes", "--assume-yes", "-qq"].includes(word)) return true;
    if (/^-[a-z]*y[a-z]*$/.test(word) || /^-[a-z]*q[a-z]*q/.test(word)) return true;
    const option =
      word.startsWith("-o") && word.length > 2 ? word.slice(2) : args[i - 1] === "-o" ? word : "";
    return /^APT::Get::Assume-Yes=(true|1|yes)$/i.test(option);
  });
}

interface Problem {
  line: number;
  message: string;
}

const FRONTEND = "DEBIAN_FRONTEND";

/** Walks one RUN as the shell does: exports persist, inline assignments apply to one command. */
function checkRun(commands: ShellCommand[], environment: Map<string, string>): Problem[] {
  const problems: Problem[] = [];
  const exported = new Map(environment);
  const shellVars = new Map<string, { value: string | undefined; line: number }>();
  commands.forEach((command, index) => {
    if (command.kind === "export") {
      for (const { name, value } of command.assigns) {
        const v = value ?? shellVars.get(name)?.value;
        if (v !== undefined) exported.set(name, v);
      }
      return;
    }
    if (command.args.length === 0) {
      for (const { name, value } of command.assigns) {
        shellVars.set(name, { value, line: command.line });
        if (exported.has(name) && value !== undefined) exported.set(name, value);
      }
      return;
    }
    const { args, assigns } = throughEnv(command);
    const program = args[0]?.split("/").at(-1);
    const env = new Map(exported);
    for (const { name, value } of assigns) if (value !== undefined) env.set(name, value);
    const inlineUnknown = assigns.some((a) => a.name === FRONTEND && a.value === undefined);
    const sub = program && APT.has(program) ? subcommand(args) : undefined;
    const needsFrontend = (sub !== undefined && CONFIGURES.has(sub)) || program === "dpkg-reconfigure";
    const shown = program === "dpkg-reconfigure" ? "dpkg-reconfigure" : `${program} ${sub}`;
    if (needsFrontend && !inlineUnknown && env.get(FRONTEND) !== "noninteractive") {
      const later = commands
        .slice(index + 1)
        .find((c) => c.assigns.some((a) => a.name === FRONTEND && a.value === "noninteractive"));
      const unexported = shellVars.get(FRONTEND);
      let message = `${shown} runs at line ${command.line} before DEBIAN_FRONTEND=noninteractive is set: tzdata's prompt hangs the build`;
      if (later)
        message = `${shown} at line ${command.line} runs before the DEBIAN_FRONTEND=noninteractive at line ${later.line} of the same RUN, which applies only to what follows it: tzdata's prompt hangs the build`;
      else if (unexported?.value === "noninteractive")
        message = `${shown} at line ${command.line}: DEBIAN_FRONTEND=noninteractive (line ${unexported.line}) is a shell variable that apt-get never sees — it is not exported: tzdata's prompt hangs the build`;
      problems.push({ line: command.line, message });
    }
    if (sub !== undefined && CONFIRMS.has(sub) && !assumesYes(args))
      problems.push({
        line: command.line,
        message: `${shown} at line ${command.line} has no -y: it asks "Do you want to continue? [Y/n]", which no one answers during a build`,
      });
  });
  return problems;
}

/** apt-get never waits for an answer: DEBIAN_FRONTEND=noninteractive and -y (tzdata's prompt otherwise hangs a build). */
export async function noninteractiveGate(
  input: DockerfileInput,
  instructions: Instruction[],
): Promise<GateResult> {
  const id = "dockerfile.noninteractive";
  const title = "DEBIAN_FRONTEND=noninteractive before apt-get";
  const problems: Problem[] = [];
  const unparsed: Problem[] = [];
  let checked = 0;
  for (const run of runContexts(instructions, input.buildArgs)) {
    const script = await runCommands(run.instruction, run.vars);
    if ("error" in script) {
      unparsed.push({
        line: script.line,
        message: `RUN at line ${script.line} is not valid sh (${script.error})`,
      });
      continue;
    }
    checked++;
    problems.push(...checkRun(script.commands, run.vars));
  }
  const first = problems[0];
  if (first) {
    const noYes = problems.every((p) => p.message.includes("has no -y"));
    return gate(id, title, "fail", problems.map((p) => p.message).join("; "), {
      hint: noYes
        ? `Add -y to apt-get install at line ${first.line} (e.g. \`apt-get install -y --no-install-recommends …\`).`
        : `Add \`ENV DEBIAN_FRONTEND=noninteractive\` and \`ENV TZ=Etc/UTC\` (or ARG DEBIAN_FRONTEND=noninteractive) before line ${first.line}, or \`export DEBIAN_FRONTEND=noninteractive &&\` at the start of that RUN; and -y on every apt-get install.`,
      location: { file: input.displayFile, line: first.line },
      evidence: { problems, unparsed },
    });
  }
  if (unparsed.length > 0) {
    return gate(id, title, "warn", `${unparsed.map((p) => p.message).join("; ")}: not checked for apt-get`, {
      location: { file: input.displayFile, line: unparsed[0]?.line as number },
      evidence: { unparsed },
    });
  }
  return gate(
    id,
    title,
    "pass",
    `${checked} RUN line(s) read: every apt-get runs non-interactively (or there is none)`,
  );
}
