"""The Docker engine, through the `docker` CLI (argv lists, never a shell string).

Every container the local SageMaker starts carries the labels below, so a crashed emulator's
instances can be found and removed by the next one (`reap_orphans`).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Iterable

LABEL_OWNER = "gen3d.local-sagemaker.owner"  # the emulator's PID
LABEL_ENDPOINT = "gen3d.local-sagemaker.endpoint"
LABEL_INSTANCE = "gen3d.local-sagemaker.instance"
BIND_TO_PORT_LABEL = "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"


class DockerError(RuntimeError):
    pass


def _docker(args: list[str], *, timeout: float = 120, env: dict[str, str] | None = None, check: bool = True) -> str:
    try:
        done = subprocess.run(
            ["docker", *args], capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError as exc:
        raise DockerError("the docker CLI is not installed (scripts/local-stack/up.sh installs it)") from exc
    except subprocess.TimeoutExpired as exc:
        raise DockerError(f"docker {args[0]} did not finish within {timeout:.0f} s") from exc
    if check and done.returncode != 0:
        raise DockerError(f"docker {args[0]} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return done.stdout


def pull(image: str) -> None:
    """Pull by digest; an image already in the engine under that digest costs one manifest read."""
    _docker(["pull", "--quiet", image], timeout=1800)


def image_labels(image: str) -> dict[str, str]:
    out = _docker(["image", "inspect", "--format", "{{json .Config.Labels}}", image])
    import json

    return json.loads(out.strip() or "null") or {}


@dataclass
class RunSpec:
    image: str
    name: str
    endpoint: str
    instance_id: str
    environment: dict[str, str]
    # Names whose values come from this process's environment (credentials): never in argv.
    pass_through: Iterable[str]
    model_dir: str | None = None
    args: tuple[str, ...] = ("serve",)


def run_detached(spec: RunSpec) -> str:
    """`docker run -d --network host IMAGE serve`; values travel in the child's environment, so
    `ps` shows only names."""
    argv = [
        "run", "--detach", "--network", "host", "--name", spec.name,
        "--label", f"{LABEL_OWNER}={os.getpid()}",
        "--label", f"{LABEL_ENDPOINT}={spec.endpoint}",
        "--label", f"{LABEL_INSTANCE}={spec.instance_id}",
        "--stop-timeout", "30",
    ]
    child_env = dict(os.environ)
    for key, value in spec.environment.items():
        argv += ["--env", key]
        child_env[key] = value
    for key in spec.pass_through:
        if key in os.environ:
            argv += ["--env", key]
    if spec.model_dir:
        argv += ["--volume", f"{spec.model_dir}:/opt/ml/model:ro"]
    argv += [spec.image, *spec.args]
    return _docker(argv, env=child_env, timeout=120).strip()


def state(container: str) -> str | None:
    """running / exited / created …, or None when the container is gone."""
    out = _docker(["inspect", "--format", "{{.State.Status}}", container], check=False, timeout=30)
    return out.strip() or None


def running_states(owner: int) -> dict[str, str]:
    """Container ID (full) → status, for every container this emulator started."""
    out = _docker(
        ["ps", "--all", "--no-trunc", "--filter", f"label={LABEL_OWNER}={owner}", "--format", "{{.ID}} {{.State}}"],
        timeout=30,
    )
    result: dict[str, str] = {}
    for line in out.splitlines():
        ident, _, status = line.partition(" ")
        if ident:
            result[ident] = status
    return result


def remove(container: str, stop_seconds: int = 30) -> None:
    """SIGTERM, then SIGKILL after `stop_seconds` (SageMaker's 30 s), then remove."""
    _docker(["stop", "--time", str(stop_seconds), container], check=False, timeout=stop_seconds + 30)
    _docker(["rm", "--force", container], check=False, timeout=60)


def kill_remove(container: str) -> None:
    _docker(["rm", "--force", container], check=False, timeout=60)


def reap_orphans() -> list[str]:
    """Remove containers left by an emulator process that no longer runs; returns their names."""
    out = _docker(
        ["ps", "--all", "--filter", f"label={LABEL_OWNER}", "--format", f'{{{{.ID}}}} {{{{.Label "{LABEL_OWNER}"}}}} {{{{.Names}}}}'],
        check=False,
        timeout=30,
    )
    reaped = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        ident, owner, name = parts[0], parts[1], parts[2]
        if owner.isdigit() and int(owner) != os.getpid() and _pid_alive(int(owner)):
            continue
        kill_remove(ident)
        reaped.append(name)
    return reaped


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie or another program reusing the PID: only a local-sagemaker server counts.
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read()
        return b"local-sagemaker" in cmdline or b"local_sagemaker" in cmdline
    except OSError:
        return True


def follow_logs(container: str) -> subprocess.Popen[str]:
    """`docker logs --follow --timestamps`: stdout and stderr merged, one line at a time."""
    return subprocess.Popen(
        ["docker", "logs", "--follow", "--timestamps", container],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
    )
