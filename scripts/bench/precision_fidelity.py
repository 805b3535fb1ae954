#!/usr/bin/env python
"""Compares the Swift outputs of each COLPALI_DTYPE mode with the float32 reference on the full-size
checkpoint (issue 14's fidelity bounds), for scripts/bench_precision.sh.

usage: precision_fidelity.py MODEL_DIR INPUTS OUT_DIR THREADS

Reads OUT_DIR/swift.json and OUT_DIR/<mode>.{image,query}.f32 (written by the Swift precision driver),
runs transformers' ColModernVBertForRetrieval in float32 on the same inputs, and prints per mode: the
image's per-token cosine (min, mean) and the query's max abs difference against it, with the bounds:
default mode (float32 or mixed) images min >= 0.9999 and mean >= 0.99999, queries <= 1e-4; bfloat16
images min >= 0.999. Exits 1 when a bound is missed.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import make_tiny_model as tiny  # noqa: E402


def own_rows(embeddings: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    return embeddings[0][mask[0].bool()].double().numpy()


def main() -> None:
    model_dir, inputs_path, out_dir, threads = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    report = json.loads((out_dir / "swift.json").read_text())
    inputs = load_file(inputs_path)
    model = tiny.load_reference(model_dir)
    with torch.inference_mode():
        image = model(
            input_ids=inputs["image.input_ids"], attention_mask=inputs["image.attention_mask"],
            pixel_values=inputs["image.pixel_values"],
        ).embeddings.float()
        query = model(input_ids=inputs["query.input_ids"], attention_mask=inputs["query.attention_mask"]).embeddings.float()
    reference_image = own_rows(image, inputs["image.attention_mask"])
    reference_query = own_rows(query, inputs["query.attention_mask"])

    failed = False
    print(f"tiles {report['tiles']}, threads {report['threads']}; {report['cpu']}")
    print(f"GEMM roofline (vision linear shapes, 2-tile batch): float32 {report['gemm_gflops_float32']:.1f} GFLOP/s, "
          f"bfloat16 {report['gemm_gflops_bfloat16']:.1f} GFLOP/s; vision tower {report['vision_tower_gflop']:.0f} GFLOP")
    for mode, figures in report["modes"].items():
        dim = figures["dim"]
        ours = np.fromfile(out_dir / f"{mode}.image.f32", dtype=np.float32).reshape(-1, dim).astype(np.float64)
        ours_query = np.fromfile(out_dir / f"{mode}.query.f32", dtype=np.float32).reshape(-1, dim).astype(np.float64)
        assert ours.shape == reference_image.shape, (ours.shape, reference_image.shape)
        cosine = (ours * reference_image).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference_image, axis=1))
        query_diff = float(np.abs(ours_query - reference_query).max())
        image_diff = float(np.abs(ours - reference_image).max())
        if mode == "bfloat16":
            ok = cosine.min() >= 0.999
        else:
            ok = cosine.min() >= 0.9999 and cosine.mean() >= 0.99999 and query_diff <= 1e-4
        failed |= not ok
        roofline = report["gemm_gflops_bfloat16" if mode == "bfloat16" or mode == "mixed" else "gemm_gflops_float32"]
        timing = (f"vision {figures['vision_ms']:.0f} ms ({figures['vision_gflops']:.1f} GFLOP/s, "
                  f"{figures['vision_gflops'] / roofline:.2f} of its GEMM roofline), text {figures['text_ms']:.0f} ms"
                  if figures["vision_ms"] > 0 else f"page {figures['first_image_ms']:.0f} ms (first call)")
        print(f"{mode:9s} image cosine min {cosine.min():.6f} mean {cosine.mean():.7f} max abs {image_diff:.2e}; "
              f"query max abs {query_diff:.2e} | {timing}, query {figures['query_ms']:.1f} ms  {'ok' if ok else 'BOUND MISSED'}")
        print(f"          {figures['precision']}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
