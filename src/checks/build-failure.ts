import { ExternalError, GateFailedError } from "../engine/errors.js";

/** Turns the docker errors that have a known cause into one that names the fix. */
export function classifyBuildFailure(error: unknown): unknown {
  if (!(error instanceof ExternalError)) return error;
  const text = [error.message, ...error.details].join("\n");
  const platform = /does not match the specified platform: wanted (\S+), actual: (\S+)/.exec(text);
  if (platform || /exec format error/.test(text)) {
    return new GateFailedError(
      "IMAGE_PLATFORM",
      platform
        ? `the base image is ${platform[2]}, but SageMaker runs ${platform[1]}: the build stopped at the first RUN`
        : 'a RUN step hit "exec format error": the base image is not linux/amd64',
      {
        details: error.details,
        hint: "Use a linux/amd64 base image (e.g. `docker pull --platform linux/amd64 …`, or an amd64 tag/digest in BASE_IMAGE); an arm64 image fails on SageMaker with exec format error.",
      },
    );
  }
  if (/BuildKit is enabled but the buildx component is missing/.test(text)) {
    return new ExternalError("DOCKER_FAILED", error.message, {
      cause: error,
      details: error.details,
      hint: "This docker has no buildx plugin: install it (Debian: docker-buildx), or build with the legacy builder by setting DOCKER_BUILDKIT=0 (the local stack's `. scripts/local-stack/env.sh` does).",
    });
  }
  const from = [...text.matchAll(/^\s*Step \d+\/\d+ : (\S+)\s+(\S+)/gm)].at(-1);
  const pulling = !from || from[1]?.toUpperCase() === "FROM";
  if (
    pulling &&
    /pull access denied|manifest unknown|repository does not exist|Get "?https?:\/\/[^\s"]+\/v2\/"?:|failed to resolve source metadata|error pulling image/i.test(
      text,
    )
  ) {
    const image = from?.[2] ? `the base image ${from[2]}` : "the base image";
    return new ExternalError("DOCKER_FAILED", `${image} could not be pulled: ${error.message}`, {
      cause: error,
      details: error.details,
      hint: "Check the FROM image's name and tag, that you are logged in to its registry and that the Docker daemon can reach it — or point image.buildArgs.BASE_IMAGE at an image that is already local (on the built-in local setup: gen3d-base:local).",
    });
  }
  if (/tzdata|Configuring tzdata|Geographic area/.test(text)) {
    return new GateFailedError("BUILD_INTERACTIVE", "the build waited for tzdata's interactive prompt", {
      details: error.details,
      hint: "Set ENV DEBIAN_FRONTEND=noninteractive and TZ=Etc/UTC before the first apt-get, so tzdata installs without asking.",
    });
  }
  return error;
}
