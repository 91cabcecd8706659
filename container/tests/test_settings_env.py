"""The container's environment, parsed with pydantic-settings: bad values name their variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gen3d_serving import config
from gen3d_serving.config import ConfigError, Settings

CONTAINER_DIR = Path(__file__).resolve().parents[1]


def test_the_environment_is_read_through_pydantic_settings():
    from pydantic_settings import EnvSettingsSource

    assert config.BaseSettings is not None, "requirements.txt pins pydantic-settings: it must be installed"
    assert issubclass(config._MappingEnvSource, EnvSettingsSource)


def test_every_bad_variable_is_named_at_once_with_its_value_and_the_rule():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {"GEN3D_MAX_CONCURRENCY": "lots", "SAGEMAKER_BIND_TO_PORT": "0", "GEN3D_DTYPE": "int8", "GEN3D_ENABLE_3D": "maybe"}
        )
    message = str(caught.value)
    assert "GEN3D_MAX_CONCURRENCY='lots' is not an integer" in message
    assert "SAGEMAKER_BIND_TO_PORT='0' must be >= 1" in message
    assert "GEN3D_DTYPE='int8' is not one of 'auto', 'float32', 'bfloat16' or 'float16'" in message
    assert "GEN3D_ENABLE_3D='maybe' is not a boolean" in message
    assert "validation error" not in message and "pydantic" not in message, "no library wording"


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"GEN3D_INVOCATION_TIMEOUT_SECONDS": "inf"}, "GEN3D_INVOCATION_TIMEOUT_SECONDS='inf' must be a finite number"),
        ({"GEN3D_INVOCATION_TIMEOUT_SECONDS": "-1"}, "GEN3D_INVOCATION_TIMEOUT_SECONDS='-1' must be > 0"),
        ({"GEN3D_MAX_REQUEST_BYTES": "10"}, "GEN3D_MAX_REQUEST_BYTES='10' must be >= 1024"),
        ({"GEN3D_LOG_LEVEL": "loud"}, "GEN3D_LOG_LEVEL='loud' is not a logging level"),
        ({"GEN3D_EMBEDDINGS_PREFIX": "a/../b"}, "GEN3D_EMBEDDINGS_PREFIX='a/../b' must be a relative S3 key prefix"),
        ({"GEN3D_SAM3D_DIR": "rel/dir"}, "GEN3D_SAM3D_DIR='rel/dir' must be an absolute path inside the container"),
    ],
)
def test_a_bad_value_names_the_variable(env, expected):
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(".", r"\.")):
        Settings.from_env(env)


def test_blank_means_unset_except_for_key_prefixes():
    settings = Settings.from_env(
        {"GEN3D_BACKEND": "  ", "GEN3D_MAX_CONCURRENCY": "", "GEN3D_LOG_LEVEL": "debug", "GEN3D_INPUT_PREFIX": ""}
    )
    assert (settings.backend, settings.max_concurrency, settings.log_level) == ("sam3", 32, "DEBUG")
    assert settings.input_prefix == "", "an empty prefix is the bucket root, not the default"


def test_a_given_mapping_never_mixes_with_the_process_environment(monkeypatch):
    monkeypatch.setenv("GEN3D_BACKEND", "test")
    monkeypatch.setenv("GEN3D_MAX_CONCURRENCY", "7")
    assert Settings.from_env({}).backend == "sam3"
    from_process = Settings.from_env()
    assert (from_process.backend, from_process.max_concurrency) == ("test", 7)
    monkeypatch.setenv("GEN3D_MAX_CONCURRENCY", "x")
    with pytest.raises(ConfigError, match="GEN3D_MAX_CONCURRENCY='x' is not an integer"):
        Settings.from_env()


def test_without_pydantic_settings_the_same_rules_and_messages_apply():
    """An image built FROM a base that predates the pin has pydantic but not pydantic-settings."""
    script = (
        "import sys; sys.modules['pydantic_settings'] = None\n"
        "from gen3d_serving import config\n"
        "assert config.BaseSettings is None\n"
        "assert config.Settings.from_env({'GEN3D_INPUT_PREFIX': 'in', 'GEN3D_MAX_CONCURRENCY': '3'}).input_prefix == 'in/'\n"
        "try:\n"
        "    config.Settings.from_env({'GEN3D_MAX_CONCURRENCY': 'lots', 'SAGEMAKER_BIND_TO_PORT': '70000'})\n"
        "except config.ConfigError as e:\n"
        "    print(e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=CONTAINER_DIR, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "SAGEMAKER_BIND_TO_PORT='70000' must be <= 65535; GEN3D_MAX_CONCURRENCY='lots' is not an integer"
    )
    with pytest.raises(ConfigError) as with_settings:
        Settings.from_env({"GEN3D_MAX_CONCURRENCY": "lots", "SAGEMAKER_BIND_TO_PORT": "70000"})
    assert str(with_settings.value) == result.stdout.strip()
