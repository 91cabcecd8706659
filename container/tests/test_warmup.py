"""Issue 13 item 13 (CPU part): one synthetic encode runs before /ping turns 200, so the first
real request does not pay the model's start-up (CUDA context, kernel selection)."""

from __future__ import annotations

import numpy as np

from gen3d_serving.app import Runtime
from gen3d_serving.backends.base import Embedding, SegmentationBackend, SegmentResult
from gen3d_serving.config import Settings
from gen3d_serving.service import InferenceService


class _RecordingSegmenter(SegmentationBackend):
    name = "recording"
    model_id = "recording-1"
    embedding_format = "npz"

    def __init__(self, runtime_box: list):
        self.calls: list[tuple[str, str]] = []
        self._runtime_box = runtime_box

    def encode(self, image):
        self.calls.append(("encode", self._runtime_box[0].state))
        return Embedding(value=np.zeros(1), shape=(1,), nbytes=8, image_size=(image.height, image.width))

    def decode(self, embedding, prompt):
        self.calls.append(("decode", self._runtime_box[0].state))
        return SegmentResult(mask=np.ones(embedding.image_size, dtype=bool), score=1.0)

    def serialize(self, embedding):
        raise AssertionError("warm-up must not write anything")

    def deserialize(self, data):
        raise AssertionError("warm-up must not read anything")


def test_runtime_runs_one_encode_before_it_reports_ready():
    box: list = []
    segmenter = _RecordingSegmenter(box)
    settings = Settings(backend="test", allowed_buckets=("b",))
    runtime = Runtime(settings, lambda s: InferenceService(s, storage=None, segmenter=segmenter, reconstructor=None))
    box.append(runtime)
    runtime.load()
    assert runtime.state == "ready"
    assert [call for call in segmenter.calls if call[0] == "encode"] == [("encode", "loading")]
    assert all(state == "loading" for _, state in segmenter.calls)
    assert len(runtime.service.cache) == 0, "the synthetic embedding is not cached"
    assert runtime.warmup_ms is not None and runtime.warmup_ms >= 0


def test_warm_up_is_logged_before_ping_turns_200(make_server):
    srv = make_server(GEN3D_TEST_DELAY_MS=300)
    messages = [r["msg"] for r in srv.log_records()]
    assert "warm-up done" in messages
    assert messages.index("warm-up done") < messages.index("models loaded; /ping now answers 200")
    warm = next(r for r in srv.log_records() if r["msg"] == "warm-up done")
    assert warm["encode_ms"] >= 300, "the warm-up ran the (simulated) encoder"


# The real SAM 3 backend's warm-up (tiny config on CPU) is checked in
# test_sam3_tiny.py::test_http_segment_with_the_real_sam3_backend, which starts that server anyway.
