#!/usr/bin/env python3
"""Client decode time of /embed/images answers, per encoding.

Usage: decode_embeddings.py DIR [RUNS]

DIR holds response bodies written by the EncodingBenchmark (``--output DIR``):
``json.json``, ``base64-float32.json``, ``base64-float16.json`` (and pooled ones).
For each, times what a client does to get a float32 numpy array per page:
``json.loads`` then ``np.asarray(..., dtype=float32)`` for JSON floats, and ``json.loads``
then ``base64.b64decode`` + ``np.frombuffer(...).reshape(shape)`` for base64 (float16 is
widened to float32, as a scorer would). Prints bytes and the median time in ms, and checks
that every encoding decodes to the JSON floats (float16: within its rounding).
"""
import base64
import json
import pathlib
import statistics
import sys
import time

import numpy as np


def decode(body: bytes) -> np.ndarray:
    item = json.loads(body)["embeddings"][0]["embedding"]
    if isinstance(item, list):
        return np.asarray(item, dtype=np.float32)
    dtype = {"float32": "<f4", "float16": "<f2"}[item["dtype"]]
    values = np.frombuffer(base64.b64decode(item["data"]), dtype=dtype).reshape(item["shape"])
    return values.astype(np.float32, copy=False)


def main() -> None:
    folder = pathlib.Path(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    reference = decode((folder / "json.json").read_bytes())
    print(f"{'case':24} {'bytes':>10} {'decode ms':>10}")
    for path in sorted(folder.glob("*.json")):
        body = path.read_bytes()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            values = decode(body)
            times.append((time.perf_counter() - started) * 1000)
        if "pool" not in path.stem:
            if path.stem.endswith("float16"):
                assert np.array_equal(values, reference.astype(np.float16).astype(np.float32)), path
            else:
                assert np.array_equal(values, reference), path
        print(f"{path.stem:24} {len(body):>10} {statistics.median(times):>10.2f}")


if __name__ == "__main__":
    main()
