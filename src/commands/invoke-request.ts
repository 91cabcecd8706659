import { readFile } from "node:fs/promises";
import path from "node:path";
import type { AppContext } from "../app/context.js";
import { pngSize } from "../checks/artifacts.js";
import { imageSize } from "../checks/image-size.js";
import { tasksUnderTest } from "../checks/task-results.js";
import { didYouMean } from "../config/format-issues.js";
import { TASK_NAMES, type TaskName } from "../config/schema.js";
import { UserError } from "../engine/errors.js";
import type { InvokeOptions } from "./invoke-options.js";

/** `gen3d invoke`'s flags, checked before anything is uploaded: each error names the flag and the fix. */

function numbers(flag: string, value: string, count: number, example: string): number[] {
  const parts = value.split(",").map((p) => Number(p.trim()));
  if (parts.length !== count || parts.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new UserError(
      "BAD_FLAG",
      `${flag} ${value}: expected ${count} non-negative numbers, e.g. ${flag} ${example}`,
    );
  }
  return parts;
}

async function readInput(flag: string, file: string, cwd: string): Promise<{ bytes: Buffer; file: string }> {
  const resolved = path.resolve(cwd, file);
  try {
    return { bytes: await readFile(resolved), file: resolved };
  } catch (error) {
    throw new UserError(
      "INPUT_UNREADABLE",
      `${flag} ${file}: cannot read ${resolved} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      {
        hint: `Pass an existing picture file to ${flag}.`,
      },
    );
  }
}

export interface InvokeRequest {
  task: TaskName;
  image: { bytes: Buffer; name: string; size?: { width: number; height: number } };
  mask?: Buffer;
  overrides: Record<string, unknown>;
}

/** Every flag checked before anything is uploaded; each error names the flag and the fix. */
export async function parseInvokeRequest(
  ctx: AppContext,
  options: InvokeOptions,
  cwd: string,
): Promise<InvokeRequest> {
  if (!options.task) {
    throw new UserError("BAD_FLAG", "gen3d invoke needs --task and --image, or --result ID", {
      hint: "e.g. `gen3d invoke --task segment --image photo.jpg --point 320,240`.",
    });
  }
  if (!(TASK_NAMES as readonly string[]).includes(options.task)) {
    const guess = didYouMean(options.task, TASK_NAMES);
    throw new UserError(
      "BAD_FLAG",
      `--task ${options.task}: ${guess ? `did you mean ${guess}? ` : ""}expected one of ${TASK_NAMES.join(", ")}`,
    );
  }
  const task = options.task as TaskName;
  if (!tasksUnderTest(ctx.config).includes(task)) {
    throw new UserError("BAD_FLAG", `--task ${task}: no enabled model in the config serves it`, {
      hint: "Enable the model that lists it in models[].tasks, redeploy, or pick another task.",
    });
  }
  if (!options.image)
    throw new UserError("BAD_FLAG", "--image FILE is required with --task", {
      hint: "Pass the picture to send.",
    });
  const input = await readInput("--image", options.image, cwd);
  const size = imageSize(input.bytes);
  const image = { bytes: input.bytes, name: path.basename(input.file), ...(size ? { size } : {}) };
  if (task !== "segment" && (options.point || options.box)) {
    throw new UserError("BAD_FLAG", `--point and --box are segment's prompt; --task ${task} takes none`);
  }
  if (options.point && options.box) throw new UserError("BAD_FLAG", "pass --point or --box, not both");
  const overrides: Record<string, unknown> = {};
  const inside = (flag: string, x: number, y: number) => {
    if (size && (x >= size.width || y >= size.height)) {
      throw new UserError(
        "BAD_FLAG",
        `${flag}: ${x},${y} is outside the ${size.width}×${size.height} picture`,
      );
    }
  };
  if (options.point) {
    const [x = 0, y = 0] = numbers("--point", options.point, 2, "320,240");
    inside("--point", x, y);
    Object.assign(overrides, { prompt_type: "point", point: [x, y], point_label: 1 });
  } else if (options.box) {
    const [x1 = 0, y1 = 0, x2 = 0, y2 = 0] = numbers("--box", options.box, 4, "10,20,300,240");
    if (!(x2 > x1 && y2 > y1))
      throw new UserError("BAD_FLAG", `--box ${options.box}: expected x1,y1,x2,y2 with x2 > x1 and y2 > y1`);
    inside("--box", x2 - 1, y2 - 1);
    Object.assign(overrides, { prompt_type: "box", box: [x1, y1, x2, y2] });
  } else if (task === "segment" && !size) {
    throw new UserError(
      "BAD_FLAG",
      `--image ${options.image}: not a PNG or JPEG, so gen3d cannot place the default point`,
      {
        hint: "Pass --point X,Y or --box X1,Y1,X2,Y2.",
      },
    );
  }
  let mask: Buffer | undefined;
  if (task === "generate_3d") {
    if (!options.mask) {
      throw new UserError(
        "BAD_FLAG",
        "--task generate_3d needs --mask FILE (the object's mask, a PNG of the picture's size)",
        {
          hint: "Get one with `gen3d invoke --task segment --image …`: it downloads mask.png.",
        },
      );
    }
    mask = (await readInput("--mask", options.mask, cwd)).bytes;
    const maskSize = pngSize(mask);
    if (!maskSize) throw new UserError("BAD_FLAG", `--mask ${options.mask}: not a PNG`);
    if (size && (maskSize.width !== size.width || maskSize.height !== size.height)) {
      throw new UserError(
        "BAD_FLAG",
        `--mask ${options.mask}: ${maskSize.width}×${maskSize.height}, but the picture is ${size.width}×${size.height}`,
      );
    }
  } else if (options.mask) {
    throw new UserError("BAD_FLAG", `--mask is generate_3d's input; --task ${task} takes none`);
  }
  return { task, image, ...(mask ? { mask } : {}), overrides };
}
