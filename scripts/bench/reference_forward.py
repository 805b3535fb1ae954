#!/usr/bin/env python
"""Times transformers' ColModernVBertForRetrieval (the reference) on the benchmark inputs.

usage: reference_forward.py MODEL_DIR INPUTS THREADS WARMUP QUERY_RUNS IMAGE_RUNS
Prints one JSON object with the same fields as the Swift driver's report.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import make_tiny_model as tiny  # noqa: E402


def resident() -> tuple[int, int]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def main() -> None:
    model_dir, inputs_path = Path(sys.argv[1]), sys.argv[2]
    threads, warmup, query_runs, image_runs = (int(v) for v in sys.argv[3:7])
    torch.set_num_threads(threads)
    start = time.perf_counter()
    model = tiny.load_reference(model_dir)
    load_seconds = time.perf_counter() - start
    after_load = resident()[0]
    inputs = load_file(inputs_path)

    cpu = []

    def timed(runs, **kwargs):
        with torch.inference_mode():
            for _ in range(warmup):
                model(**kwargs)
            times = []
            cpu.clear()
            for _ in range(runs):
                begin, begin_cpu = time.perf_counter(), time.process_time()
                model(**kwargs)
                times.append((time.perf_counter() - begin) * 1e3)
                cpu.append((time.process_time() - begin_cpu) * 1e3)
        return times

    # Stage times of the image runs: vision tower + connector, then text tower (+ head, after it).
    stages = {"vision": [], "text": []}
    marks = {}
    vlm = model.vlm
    vlm.vision_model.register_forward_pre_hook(lambda *_: marks.__setitem__("vision", time.perf_counter()))
    vlm.connector.register_forward_hook(
        lambda *_: stages["vision"].append((time.perf_counter() - marks["vision"]) * 1e3))
    vlm.text_model.register_forward_pre_hook(lambda *_: marks.__setitem__("text", time.perf_counter()))
    model.embedding_proj_layer.register_forward_hook(
        lambda *_: stages["text"].append((time.perf_counter() - marks["text"]) * 1e3) if "text" in marks else None)

    query = timed(query_runs, input_ids=inputs["query.input_ids"], attention_mask=inputs["query.attention_mask"])
    query_cpu = list(cpu)
    marks.clear()
    stages["text"].clear()
    image = timed(image_runs, input_ids=inputs["image.input_ids"], attention_mask=inputs["image.attention_mask"],
                  pixel_values=inputs["image.pixel_values"])
    print(json.dumps({
        "threads": torch.get_num_threads(), "loadSeconds": load_seconds,
        "queryTokens": inputs["query.input_ids"].shape[1], "imageTokens": inputs["image.input_ids"].shape[1],
        "imageTiles": inputs["image.pixel_values"].shape[1],
        "queryMilliseconds": query, "imageMilliseconds": image,
        "queryCPUMilliseconds": query_cpu, "imageCPUMilliseconds": list(cpu),
        "imageVisionMilliseconds": stages["vision"][warmup:], "imageTextMilliseconds": stages["text"][warmup:],
        "residentAfterLoadBytes": after_load, "peakResidentBytes": resident()[1],
    }))


if __name__ == "__main__":
    main()
