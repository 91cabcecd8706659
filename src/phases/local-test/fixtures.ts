import { createS3 } from "../../adapters/s3.js";
import { pngSize } from "../../checks/artifacts.js";
import { invoke, taskResponses } from "../../checks/container-probe.js";
import { checkTaskArtifacts, smokeImage, taskPayload, tasksUnderTest } from "../../checks/task-results.js";
import type { TaskName } from "../../config/schema.js";
import type { PhaseContext } from "../phase.js";
import type { TaskEvidence } from "./evidence.js";

/**
 * Every task the enabled models serve, in the order they chain (segment's mask feeds
 * generate_3d): its fixture uploaded to S3, POST /invocations, the response checked against the
 * contract and the S3 objects it names read back.
 */
export async function exerciseTasks(
  ctx: PhaseContext,
  baseUrl: string,
  sessionId: string,
): Promise<Record<string, TaskEvidence>> {
  const { config } = ctx;
  const tasks: Record<string, TaskEvidence> = {};
  let maskKey: string | undefined;
  for (const task of tasksUnderTest(config) as TaskName[]) {
    ctx.progress(`invoking ${task}`);
    const fixture = await smokeImage(ctx, task);
    const size = pngSize(fixture.bytes);
    const key = `${config.s3.prefixes.input}/gen3d-local-test/${sessionId}/${fixture.name}`.replace(
      /^\//,
      "",
    );
    await createS3(ctx).putObject({ bucket: config.s3.bucket, key }, fixture.bytes, {
      contentType: "image/png",
    });
    if (task === "generate_3d" && !maskKey) {
      tasks[task] = {
        ok: false,
        ms: 0,
        problem: "no mask to reconstruct from: segment did not succeed",
        artifacts: [],
      };
      continue;
    }
    const payload = taskPayload(task, {
      bucket: config.s3.bucket,
      imageKey: key,
      sessionId,
      image: size,
      maskKey,
      overrides: config.smokeTests[task]?.payload,
    });
    const result = await invoke(baseUrl, payload, config.timeouts.invocationSeconds * 1000, ctx.signal).catch(
      (error: Error) => {
        if (ctx.signal.aborted) throw error;
        return { status: 0, ms: 0, body: { error: error.message } };
      },
    );
    const parsed = taskResponses[task].safeParse(result.body);
    if (result.status !== 200 || !parsed.success) {
      tasks[task] = {
        ok: false,
        ms: result.ms,
        status: result.status,
        problem:
          result.status !== 200
            ? `HTTP ${result.status}: ${JSON.stringify(result.body).slice(0, 300)}`
            : `response does not match the contract: ${parsed.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
        response: result.body,
        artifacts: [],
      };
      continue;
    }
    const artifacts = await checkTaskArtifacts(
      { s3: createS3({ aws: ctx.aws, signal: ctx.signal }), signal: ctx.signal },
      config.s3.bucket,
      task,
      parsed.data as Record<string, unknown>,
      size,
    );
    const bad = artifacts.find((a) => !a.ok);
    tasks[task] = {
      ok: !bad,
      ms: result.ms,
      status: 200,
      problem: bad ? `${bad.kind} ${bad.key}: ${bad.detail}` : undefined,
      response: parsed.data,
      artifacts,
    };
    if (task === "segment" && !bad) maskKey = String((parsed.data as { mask_s3_key: string }).mask_s3_key);
  }
  return tasks;
}
