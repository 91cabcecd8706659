#!/usr/bin/env python3
"""Models and config for the demo's real SAM 3 path (scripts/local-demo.sh, the default).

Writes a tiny random-weight Sam3TrackerModel (config.json, model.safetensors,
preprocessor_config.json) into MODELS/sam3 with the container's own test support
(container/tests/support/tiny_sam3.py: the config transformers' own tests use, 224 px input),
keeps stand-in files in MODELS/sam3d (the Dockerfile copies that directory), and writes
examples/local/sam3/gen3d.config.json from examples/local/gen3d.config.json with the sizes
measured on disk, the gen3d-base:sam3 base image, INSTALL_SAM3=true and GEN3D_BACKEND=sam3 on CPU.

Run it with a Python that has torch and transformers (container/.venv/bin/python):
    container/.venv/bin/python scripts/make-demo-sam3.py [--models container/models]
Deterministic (seed 0): a second run leaves the files, hence the build context hash, unchanged.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE_CONFIG = ROOT / "examples/local/gen3d.config.json"
OUT_CONFIG = ROOT / "examples/local/sam3/gen3d.config.json"
MARKER = "preprocessor_config.json"  # the test backend's stand-ins have none


def dir_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def same_tree(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if not b.is_dir() or names != sorted(p.name for p in b.iterdir()):
        return False
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def write_models(models: Path) -> None:
    sys.path.insert(0, str(ROOT / "container"))
    from tests.support.tiny_sam3 import write_tiny_sam3

    sam3 = models / "sam3"
    with tempfile.TemporaryDirectory(prefix="gen3d-tiny-sam3-") as tmp:
        fresh = write_tiny_sam3(Path(tmp) / "sam3", seed=0)
        if sam3.is_dir() and same_tree(fresh, sam3):
            print(f"{sam3}: tiny Sam3TrackerModel already in place", file=sys.stderr)
        else:
            shutil.rmtree(sam3, ignore_errors=True)
            shutil.copytree(fresh, sam3)
            for f in sam3.iterdir():
                f.chmod(0o644)  # safetensors writes 0600; the image's files should be world-readable
            print(f"{sam3}: wrote a tiny random-weight Sam3TrackerModel", file=sys.stderr)
    sam3d = models / "sam3d"
    if not (sam3d / "pipeline.yaml").is_file():
        # The 3D stand-in only checks these exist (GEN3D_3D_BACKEND=test, see the config).
        sam3d.mkdir(parents=True, exist_ok=True)
        (sam3d / "pipeline.yaml").write_text("ss_generator_ckpt_path: ss_generator.ckpt\n")
        (sam3d / "ss_generator.ckpt").write_bytes(b"placeholder checkpoint\n")


def write_config(models: Path) -> None:
    config = json.loads(BASE_CONFIG.read_text())
    rel = lambda p: str(Path("../../..") / p.resolve().relative_to(ROOT))  # noqa: E731
    config["$schema"] = "../../../schema/gen3d.config.schema.json"
    config["project"]["name"] = "gen3d-local-sam3"
    config["ecr"]["repository"] = "gen3d-local-sam3"
    image = config["image"]
    image["name"] = "gen3d-local-sam3"
    image["contextDir"] = rel(ROOT / "container")
    image["buildArgs"] = {**image.get("buildArgs", {}), "BASE_IMAGE": "gen3d-base:sam3", "INSTALL_SAM3": "true"}
    image["maxSizeGb"] = 4
    for model in config["models"]:
        directory = models / model["name"]
        model["localPath"] = rel(directory)
        model["expectedSizeBytes"] = dir_bytes(directory)
    # The real generate_3d backend needs CUDA and a >= 32 GB GPU: GEN3D_3D_BACKEND=test pairs the
    # real SAM 3 with the interface-level 3D stand-in, so generate_3d still answers (and says so).
    config["localTest"]["environment"] = {
        "GEN3D_BACKEND": "sam3",
        "GEN3D_3D_BACKEND": "test",
        "GEN3D_DEVICE": "cpu",
        "GEN3D_DTYPE": "float32",
    }
    # torch + transformers import and the warm-up encode/decode before /ping answers 200.
    config["timeouts"]["startupSeconds"] = 180
    text = json.dumps(config, indent=2) + "\n"
    OUT_CONFIG.parent.mkdir(parents=True, exist_ok=True)
    if not OUT_CONFIG.is_file() or OUT_CONFIG.read_text() != text:
        OUT_CONFIG.write_text(text)
        print(f"{OUT_CONFIG.relative_to(ROOT)}: written", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=ROOT / "container/models")
    args = parser.parse_args()
    write_models(args.models)
    write_config(args.models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
