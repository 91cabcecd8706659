"""models[].containerPath reaches the server: GEN3D_SAM3_DIR / GEN3D_SAM3D_DIR, set by the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen3d_serving.backends import sam3_dir, sam3d_dir
from gen3d_serving.config import ConfigError, Settings


def test_each_model_directory_is_read_from_its_own_variable():
    settings = Settings.from_env({"GEN3D_SAM3_DIR": "/weights/seg", "GEN3D_SAM3D_DIR": "/opt/ml/model/recon"})
    assert sam3_dir(settings) == Path("/weights/seg")
    assert sam3d_dir(settings) == Path("/opt/ml/model/recon")


def test_without_them_the_model_dir_and_the_usual_names():
    settings = Settings.from_env({"GEN3D_MODEL_DIR": "/opt/ml/model"})
    assert sam3_dir(settings) == Path("/opt/ml/model/sam3")
    assert sam3d_dir(settings) == Path("/opt/ml/model/sam3d")


def test_a_relative_directory_stops_startup_naming_the_variable():
    with pytest.raises(ConfigError, match="GEN3D_SAM3_DIR='weights' must be an absolute path"):
        Settings.from_env({"GEN3D_SAM3_DIR": "weights"})
