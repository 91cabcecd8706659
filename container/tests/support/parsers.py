"""Independent readers for the artifacts, so tests check them as a consumer would."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
from PIL import Image

_PLY_TYPES = {"float": "<f4", "float32": "<f4", "double": "<f8", "uchar": "u1", "uint8": "u1", "int": "<i4", "uint": "<u4"}


def read_png_mask(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG", image.format
    image.load()
    return np.asarray(image)


def read_ply(data: bytes) -> dict[str, np.ndarray]:
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    assert header[0] == "ply"
    assert header[1] == "format binary_little_endian 1.0", header[1]
    count, props = None, []
    for line in header[2:]:
        parts = line.split()
        if parts[0] == "element":
            assert parts[1] == "vertex", line
            count = int(parts[2])
        elif parts[0] == "property":
            props.append((parts[2], _PLY_TYPES[parts[1]]))
    assert count is not None
    dtype = np.dtype(props)
    body = data[end:]
    assert len(body) == count * dtype.itemsize, (len(body), count, dtype.itemsize)
    array = np.frombuffer(body, dtype=dtype, count=count)
    return {name: array[name] for name, _ in props}


def read_glb(data: bytes) -> dict:
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2 and length == len(data)
    json_len, json_type = struct.unpack_from("<I4s", data, 12)
    assert json_type == b"JSON"
    gltf = json.loads(data[20 : 20 + json_len])
    bin_offset = 20 + json_len
    bin_len, bin_type = struct.unpack_from("<I4s", data, bin_offset)
    assert bin_type == b"BIN\x00"
    binary = data[bin_offset + 8 : bin_offset + 8 + bin_len]
    position = gltf["accessors"][gltf["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]
    view = gltf["bufferViews"][position["bufferView"]]
    positions = np.frombuffer(binary, dtype="<f4", count=position["count"] * 3, offset=view.get("byteOffset", 0)).reshape(-1, 3)
    assert np.allclose(positions.min(axis=0), position["min"]) and np.allclose(positions.max(axis=0), position["max"])
    index_accessor = gltf["accessors"][gltf["meshes"][0]["primitives"][0]["indices"]]
    index_view = gltf["bufferViews"][index_accessor["bufferView"]]
    indices = np.frombuffer(binary, dtype="<u4", count=index_accessor["count"], offset=index_view["byteOffset"])
    assert indices.max() < len(positions)
    return {"gltf": gltf, "positions": positions, "indices": indices}
