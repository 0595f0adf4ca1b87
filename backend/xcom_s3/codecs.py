"""Compression of offloaded JSON: zstd through pyarrow (already a dependency), gzip from the stdlib."""

from __future__ import annotations

import gzip

EXTENSIONS = {"zstd": "json.zst", "gzip": "json.gz", "none": "json"}


def compress(data: bytes, codec: str) -> bytes:
    if codec == "zstd":
        import pyarrow as pa

        return bytes(pa.compress(data, codec="zstd"))
    if codec == "gzip":
        return gzip.compress(data, compresslevel=6)
    return data


def decompress(data: bytes, codec: str, raw_size: int) -> bytes:
    if codec == "zstd":
        import pyarrow as pa

        return bytes(pa.decompress(data, decompressed_size=raw_size, codec="zstd"))
    if codec == "gzip":
        return gzip.decompress(data)
    return data
