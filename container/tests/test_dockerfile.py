"""Static checks of the Dockerfile: the rules the CLI's preflight gate enforces, caught here first."""

from __future__ import annotations

import json
import re

from tests.conftest import CONTAINER_DIR


def instructions() -> list[tuple[str, str]]:
    text = (CONTAINER_DIR / "Dockerfile").read_text()
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        current += line.rstrip("\\").rstrip() + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            logical.append(current.strip())
            current = ""
    return [(item.split(None, 1)[0].upper(), item.split(None, 1)[1] if " " in item else "") for item in logical]


def test_entrypoint_is_exec_form_and_serves_with_or_without_serve_argument():
    ins = instructions()
    entry = [arg for kind, arg in ins if kind == "ENTRYPOINT"]
    cmd = [arg for kind, arg in ins if kind == "CMD"]
    assert len(entry) == 1 and len(cmd) == 1
    assert json.loads(entry[0]) == ["python3", "-m", "gen3d_serving"]
    assert json.loads(cmd[0]) == ["serve"]


def test_base_image_is_an_arg_and_pinned():
    text = (CONTAINER_DIR / "Dockerfile").read_text()
    match = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
    assert match and ":" in match.group(1) and not match.group(1).endswith(":latest")
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", text, re.M)


def test_noninteractive_and_tz_before_any_apt_get():
    ins = instructions()
    env_index = next(i for i, (k, a) in enumerate(ins) if k == "ENV" and "DEBIAN_FRONTEND=noninteractive" in a)
    assert "TZ=" in ins[env_index][1]
    apt = [i for i, (k, a) in enumerate(ins) if k == "RUN" and "apt-get" in a]
    assert apt and all(i > env_index for i in apt)
    assert all('if [ -n "${APT_PACKAGES}" ]' in ins[i][1] for i in apt), "apt-get must be skippable offline"


def test_weights_layers_come_before_the_code_and_outside_opt_ml_model():
    copies = [(i, arg) for i, (kind, arg) in enumerate(instructions()) if kind == "COPY"]
    sam3 = next(i for i, a in copies if a.startswith("models/sam3/ "))
    sam3d = next(i for i, a in copies if a.startswith("models/sam3d/ "))
    code = next(i for i, a in copies if a.startswith("gen3d_serving/ "))
    assert sam3 < sam3d < code and code == copies[-1][0]
    assert all("/opt/ml/model" not in a for _, a in copies)


def test_every_copy_source_exists_in_the_context_except_the_weights():
    for kind, arg in instructions():
        if kind != "COPY":
            continue
        for source in arg.split()[:-1]:
            if source.startswith("models/"):
                continue  # weights are provided at build time, never committed
            assert (CONTAINER_DIR / source).exists(), source


def test_labels_and_revision_args_come_after_the_heavy_layers():
    ins = instructions()
    labels = " ".join(a for k, a in ins if k == "LABEL")
    assert "com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true" in labels
    assert "org.opencontainers.image.version" in labels and "org.opencontainers.image.revision" in labels
    revision_arg = next(i for i, (k, a) in enumerate(ins) if k == "ARG" and a.startswith("GIT_REVISION"))
    last_heavy = max(i for i, (k, a) in enumerate(ins) if k in ("RUN", "COPY"))
    assert revision_arg > last_heavy


def test_dockerignore_keeps_models_and_code_but_not_the_venv():
    lines = (CONTAINER_DIR / ".dockerignore").read_text().splitlines()
    assert "*" in lines and "!models/" in lines and "!gen3d_serving/" in lines
    assert not any(line.startswith("!.venv") or line.startswith("!tests") for line in lines)


def test_requirements_are_exact_pins(tmp_path):
    import subprocess
    import sys

    for name in ("requirements.txt", "requirements-sam3.txt", "requirements-dev.txt"):
        for raw in (CONTAINER_DIR / name).read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if line and not line.startswith("-r "):
                assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[^\]]+\])?==[0-9][^\s;]*", line), f"{name}: {line}"
    # The Dockerfile's skip-pip check reads the same files and must accept them.
    checker = CONTAINER_DIR / "docker" / "requirements_satisfied.py"
    out = subprocess.run([sys.executable, str(checker), str(CONTAINER_DIR / "requirements.txt")], capture_output=True, text=True)
    assert out.returncode in (0, 1) and "cannot check" not in out.stdout + out.stderr


def test_requirements_satisfied_reports_missing_pins(tmp_path):
    import subprocess
    import sys

    reqs = tmp_path / "r.txt"
    reqs.write_text("pytest==0.0.1\n# comment\n")
    checker = CONTAINER_DIR / "docker" / "requirements_satisfied.py"
    out = subprocess.run([sys.executable, str(checker), str(reqs)], capture_output=True, text=True)
    assert out.returncode == 1 and "pytest==0.0.1" in out.stdout
    import pytest as _pytest

    reqs.write_text(f"pytest=={_pytest.__version__}\n")
    assert subprocess.run([sys.executable, str(checker), str(reqs)]).returncode == 0
