import {
  type AsyncJobRecord,
  type SubmittedJob,
  sha256Hex,
  submitRecorded,
  uploadOnce,
} from "../adapters/async-invoke.js";
import { createS3, s3Uri } from "../adapters/s3.js";
import { type AppContext, type GlobalOptions, openContext, type Runtime } from "../app/context.js";
import { taskPayload } from "../checks/task-results.js";
import { UserError } from "../engine/errors.js";
import { printJson } from "../engine/output.js";
import type { InvokeOptions } from "./invoke-options.js";
import { type InvocationRecord, loadRecord, recordFile, saveRecord } from "./invoke-records.js";
import { type InvokeRequest, parseInvokeRequest } from "./invoke-request.js";
import { waitAndDownload } from "./invoke-result.js";

export type { InvokeOptions } from "./invoke-options.js";

function endpointOf(ctx: AppContext): string {
  const name = ctx.state.state.artifacts.endpointName;
  if (typeof name !== "string" || name === "") {
    throw new UserError("NO_ENDPOINT", `${ctx.state.file} records no endpoint: nothing to invoke`, {
      hint: "Deploy first: `gen3d deploy` (phases 1–8 create the endpoint).",
    });
  }
  return name;
}

async function submit(ctx: AppContext, request: InvokeRequest): Promise<InvocationRecord & SubmittedJob> {
  const { config } = ctx;
  const endpointName = endpointOf(ctx);
  const bucket = config.s3.bucket;
  const s3 = createS3({ aws: ctx.aws, signal: ctx.signal });
  const base = `${config.s3.prefixes.input}/gen3d-invoke`.replace(/^\//, "");
  const upload = async (bytes: Buffer, name: string) => {
    const key = `${base}/inputs/${sha256Hex(bytes).slice(0, 16)}-${name}`;
    await uploadOnce(s3, { bucket, key }, bytes, "application/octet-stream");
    return key;
  };
  const imageKey = await upload(request.image.bytes, request.image.name);
  const maskKey = request.mask ? await upload(request.mask, "mask.png") : undefined;
  const now = ctx.clock.now();
  const draft = taskPayload(request.task, {
    bucket,
    imageKey,
    sessionId: "pending",
    image: request.image.size,
    ...(maskKey ? { maskKey } : {}),
    overrides: request.overrides,
  });
  const inferenceId = `gen3d-inv-${now.getTime().toString(36)}-${sha256Hex(JSON.stringify(draft)).slice(0, 6)}`;
  const body = Buffer.from(JSON.stringify({ ...draft, session_id: inferenceId }));
  const requestKey = `${base}/${inferenceId}.json`;
  await uploadOnce(s3, { bucket, key: requestKey }, body, "application/json");
  const extra = {
    bucket,
    ...(request.image.size ? { image: { name: request.image.name, ...request.image.size } } : {}),
  };
  const job = await submitRecorded(
    {
      runtime: await ctx.aws.sagemakerRuntime(),
      sagemaker: await ctx.aws.sagemaker(),
      clock: ctx.clock,
      signal: ctx.signal,
    },
    { task: request.task, inferenceId, inputLocation: s3Uri(bucket, requestKey), endpointName },
    config.timeouts.invocationSeconds,
    (record: AsyncJobRecord) => saveRecord(ctx, { ...record, ...extra }),
  );
  return { ...job, ...extra };
}

/** `gen3d invoke`: one async invocation end to end, or `--result ID` for one submitted earlier. */
export async function invokeCommand(
  globals: GlobalOptions,
  runtime: Runtime,
  options: InvokeOptions,
): Promise<number> {
  if (options.result && (options.task || options.image || options.point || options.box || options.mask)) {
    throw new UserError(
      "BAD_FLAG",
      "--result fetches an earlier job: it takes no --task, --image, --point, --box or --mask",
    );
  }
  const { ctx, release } = await openContext(globals, runtime);
  try {
    if (options.result) {
      const job = await loadRecord(ctx, options.result);
      // Without waiting: one look; otherwise up to timeouts.invocationSeconds from now.
      const notAfter =
        ctx.clock.now().getTime() +
        (options.wait === false ? 0 : ctx.config.timeouts.invocationSeconds * 1000);
      return await waitAndDownload(ctx, job, options, runtime.cwd, notAfter);
    }
    const request = await parseInvokeRequest(ctx, options, runtime.cwd);
    const job = await submit(ctx, request);
    if (options.wait === false) {
      if (ctx.io.json) {
        printJson(ctx.io, true, {
          inferenceId: job.inferenceId,
          task: job.task,
          outputLocation: job.outputLocation,
          failureLocation: job.failureLocation,
          record: recordFile(ctx, job.inferenceId),
        });
      } else {
        ctx.io.stdout(`${job.inferenceId}\n${job.outputLocation}\n`);
        ctx.io.stderr(`submitted; fetch it later with \`gen3d invoke --result ${job.inferenceId}\`\n`);
      }
      return 0;
    }
    return await waitAndDownload(ctx, job, options, runtime.cwd);
  } finally {
    await release();
  }
}
