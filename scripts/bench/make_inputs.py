#!/usr/bin/env python
"""Benchmark inputs for the full-size checkpoint: one short query and one multi-tile page.

Writes OUT (safetensors): query.input_ids / query.attention_mask [1, Lq]; image.input_ids /
image.attention_mask [1, Li]; image.pixel_values [1, T, 3, 512, 512].

The pixel values come from transformers' Idefics3 image processor with the published geometry
(2048 px longest edge, 512 px tiles) applied to a synthetic A4 page at 150 dpi (1240 x 1754 px),
which gives 3 x 4 tiles plus the global tile. The token ids follow ColModernVBertProcessor's prompt
layout (see its replace_image_token) with the published special-token ids; ordinary words get
arbitrary ids, since the random checkpoint has no tokenizer and timing does not depend on them.

A model folder that carries its tokenizer and processor files (such as Tests/Fixtures/tiny-model,
the benchmark's --quick setting) gets its own processor's inputs for the same page instead.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import make_tiny_model as tiny  # noqa: E402

CLS, SEP = 50281, 50282
BEGIN_OF_TEXT, FAKE_IMAGE, GLOBAL_IMAGE, END_OF_UTTERANCE = 50368, 50369, 50371, 50372
ROW_COL_BASE = 50373  # <row_1_col_1> .. <row_6_col_6>
NEWLINE = 187


def page(width: int = 1240, height: int = 1754) -> Image.Image:
    rng = np.random.default_rng(7)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for line in range(60):
        y = 80 + line * 27
        x = 90
        while x < width - 120:
            word = int(rng.integers(20, 90))
            draw.rectangle([x, y, x + word, y + 12], fill=(20, 20, 20))
            x += word + 12
    draw.rectangle([200, 900, 1000, 1300], outline=(0, 0, 200), width=4)
    return image


def words(rng, count: int) -> list[int]:
    return [int(v) for v in rng.integers(1000, 50000, count)]


def main() -> None:
    out = Path(sys.argv[1])
    config = json.loads((Path(sys.argv[2]) / "config.json").read_text()) if len(sys.argv) > 2 else None
    image_token = config["image_token_id"] if config else 50407
    seq_len = 64
    rng = np.random.default_rng(3)

    if len(sys.argv) > 2 and (Path(sys.argv[2]) / "tokenizer.json").exists():
        return with_processor(out, Path(sys.argv[2]))
    query = [CLS] + words(rng, 8) + [END_OF_UTTERANCE] * 10 + [SEP]

    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    processor = Idefics3ImageProcessorPil(
        size={"longest_edge": tiny.FULL_LONGEST_EDGE}, max_image_size={"longest_edge": tiny.FULL_TILE},
        do_image_splitting=True)
    processed = processor(images=[page()], return_row_col_info=True, return_tensors="pt")
    rows, cols = processed["rows"][0][0], processed["cols"][0][0]
    pixel_values = processed["pixel_values"].float().contiguous()

    image_part: list[int] = []
    for r in range(rows):
        for c in range(cols):
            image_part += [FAKE_IMAGE, ROW_COL_BASE + r * 6 + c] + [image_token] * seq_len
        image_part.append(NEWLINE)
    image_part += [NEWLINE, FAKE_IMAGE, GLOBAL_IMAGE] + [image_token] * seq_len + [FAKE_IMAGE]
    prompt = ([CLS, BEGIN_OF_TEXT] + words(rng, 2) + image_part + words(rng, 4)
              + [END_OF_UTTERANCE, NEWLINE] + words(rng, 2) + [SEP])
    if prompt.count(image_token) != pixel_values.shape[1] * seq_len:
        raise RuntimeError("image tokens do not match the tiles")

    def row(ids):
        t = torch.tensor([ids], dtype=torch.int64)
        return t, torch.ones_like(t)

    q_ids, q_mask = row(query)
    i_ids, i_mask = row(prompt)
    save_file({
        "query.input_ids": q_ids, "query.attention_mask": q_mask,
        "image.input_ids": i_ids, "image.attention_mask": i_mask, "image.pixel_values": pixel_values,
    }, str(out))
    print(f"inputs: query {q_ids.shape[1]} tokens; page {rows}x{cols}+1 = {pixel_values.shape[1]} tiles, "
          f"{i_ids.shape[1]} tokens")


def with_processor(out: Path, model_dir: Path) -> None:
    """The inputs the checkpoint's own ColModernVBertProcessor makes of a query and the page."""
    from transformers import ColModernVBertProcessor

    processor = ColModernVBertProcessor.from_pretrained(str(model_dir))
    query = processor.process_queries(["quarterly revenue by region"], return_tensors="pt")
    image = processor.process_images([page()], return_tensors="pt")
    tensors = {f"query.{k}": query[k].to(torch.int64).contiguous() for k in ("input_ids", "attention_mask")}
    tensors.update({f"image.{k}": image[k].to(torch.int64).contiguous() for k in ("input_ids", "attention_mask")})
    tensors["image.pixel_values"] = image["pixel_values"].float().contiguous()
    save_file(tensors, str(out))
    print(f"inputs ({model_dir.name}'s processor): query {tensors['query.input_ids'].shape[1]} tokens; "
          f"page {tensors['image.pixel_values'].shape[1]} tiles, {tensors['image.input_ids'].shape[1]} tokens")


if __name__ == "__main__":
    main()
