"""Exit 0 when every `name==version` pin in the given requirements files is already installed.

The Dockerfile runs pip only when this exits non-zero, so an image built FROM a base that
already holds the pinned packages (the offline local stack's gen3d-base:local) never
needs pip, an index or a network. Standard library only: it runs before anything is installed.
"""

import re
import sys
from importlib import metadata
from pathlib import Path


def pins(path: Path):
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            yield from pins(path.parent / line.split(None, 1)[1])
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*==\s*([^;\s]+)", line)
        if not match:
            raise SystemExit(f"{path}: cannot check {line!r}: only exact '==' pins are supported")
        yield match.group(1), match.group(3)


def main(paths):
    missing = []
    for path in paths:
        for name, version in pins(Path(path)):
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                missing.append(f"{name}=={version} (not installed)")
                continue
            if installed.split("+", 1)[0] != version.split("+", 1)[0]:
                missing.append(f"{name}=={version} (installed {installed})")
    for item in missing:
        print(f"requirement not yet satisfied: {item}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
