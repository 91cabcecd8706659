"""Writers for the 3D asset formats the test backend emits: a Gaussian-splat .ply and a .glb mesh.

The .ply uses the property layout of 3D Gaussian Splatting files (x y z, normals, f_dc_*,
opacity, scale_*, rot_*), the layout SAM 3D Objects' `save_ply` writes, so viewers and the
CLI's parser treat test and real assets alike.
"""

from __future__ import annotations

import json
import struct

import numpy as np

SPLAT_PROPERTIES = (
    "x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
    "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3",
)


def gaussian_splat_ply(xyz: np.ndarray, rgb: np.ndarray) -> bytes:
    """Binary little-endian PLY of N Gaussians at xyz (N, 3) with colours rgb (N, 3) in [0, 1]."""
    n = int(xyz.shape[0])
    sh_c0 = 0.28209479177387814  # zeroth spherical-harmonic coefficient: f_dc = (rgb - 0.5) / C0
    data = np.zeros((n, len(SPLAT_PROPERTIES)), dtype="<f4")
    data[:, 0:3] = xyz
    data[:, 6:9] = (rgb - 0.5) / sh_c0
    data[:, 9] = 4.0  # logit opacity, ~0.98
    data[:, 10:13] = np.log(0.01)
    data[:, 13] = 1.0  # identity quaternion (w, x, y, z)
    header = "ply\nformat binary_little_endian 1.0\n"
    header += f"element vertex {n}\n"
    header += "".join(f"property float {name}\n" for name in SPLAT_PROPERTIES)
    header += "end_header\n"
    return header.encode("ascii") + data.tobytes()


def mesh_glb(positions: np.ndarray, indices: np.ndarray) -> bytes:
    """A glTF 2.0 binary with one triangle mesh (float32 positions, uint32 indices)."""
    positions = np.ascontiguousarray(positions, dtype="<f4")
    indices = np.ascontiguousarray(indices, dtype="<u4").reshape(-1)
    pos_bytes = positions.tobytes()
    idx_bytes = indices.tobytes()
    bin_chunk = pos_bytes + idx_bytes
    bin_chunk += b"\x00" * (-len(bin_chunk) % 4)
    gltf = {
        "asset": {"version": "2.0", "generator": "gen3d_serving"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "mode": 4}]}],
        "buffers": [{"byteLength": len(bin_chunk)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(pos_bytes), "target": 34962},
            {"buffer": 0, "byteOffset": len(pos_bytes), "byteLength": len(idx_bytes), "target": 34963},
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": int(positions.shape[0]),
                "type": "VEC3",
                "min": positions.min(axis=0).tolist(),
                "max": positions.max(axis=0).tolist(),
            },
            {"bufferView": 1, "componentType": 5125, "count": int(indices.shape[0]), "type": "SCALAR"},
        ],
    }
    json_chunk = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    json_chunk += b" " * (-len(json_chunk) % 4)
    total = 12 + 8 + len(json_chunk) + 8 + len(bin_chunk)
    out = struct.pack("<4sII", b"glTF", 2, total)
    out += struct.pack("<I4s", len(json_chunk), b"JSON") + json_chunk
    out += struct.pack("<I4s", len(bin_chunk), b"BIN\x00") + bin_chunk
    return out
