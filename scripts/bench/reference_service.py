#!/usr/bin/env python
"""The Python reference service for the load benchmark: FastAPI + transformers, shaped like
the service this project replaces (one process, sync endpoints on uvicorn's thread pool,
`processor.process_*` then the model, embeddings returned with `.tolist()`).

usage: reference_service.py MODEL_DIR PORT THREADS
Serves POST /embed/queries and POST /embed/images on 127.0.0.1:PORT.
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import torch
import uvicorn
from fastapi import FastAPI, File, HTTPException, UploadFile
from PIL import Image
from pydantic import BaseModel
from transformers import ColModernVBertProcessor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import make_tiny_model as tiny  # noqa: E402

model_dir, port, threads = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
model = tiny.load_reference(model_dir)
# REFERENCE_DTYPE=bfloat16: the dtype a Python user would switch to (issue 14's page target).
if os.environ.get("REFERENCE_DTYPE", "float32") == "bfloat16":
    model = model.to(torch.bfloat16)
processor = ColModernVBertProcessor.from_pretrained(str(model_dir))
app = FastAPI()


class Queries(BaseModel):
    queries: str | list[str]


def rows(embeddings: torch.Tensor, mask: torch.Tensor) -> list:
    # Each item's own tokens (the fixed behaviour of the new service).
    return [e[m.bool()].float().tolist() for e, m in zip(embeddings, mask)]


@app.post("/embed/queries")
def embed_queries(request: Queries):
    queries = [request.queries] if isinstance(request.queries, str) else request.queries
    if not queries:
        raise HTTPException(status_code=400, detail="No queries provided")
    batch = processor.process_queries(queries)
    with torch.inference_mode():
        out = model(**batch).embeddings
    return {"embeddings": rows(out, batch["attention_mask"])}


@app.post("/embed/images")
def embed_images(files: list[UploadFile] = File(...)):
    images = []
    for upload in files:
        if not (upload.content_type or "").startswith("image/"):
            raise HTTPException(status_code=400, detail=f"File {upload.filename} is not an image")
        images.append(Image.open(io.BytesIO(upload.file.read())).convert("RGB"))
    batch = processor.process_images(images)
    dtype = next(model.parameters()).dtype
    batch = {k: v.to(dtype) if torch.is_tensor(v) and v.is_floating_point() else v for k, v in batch.items()}
    with torch.inference_mode():
        out = model(**batch).embeddings
    ids = batch["input_ids"]
    result = []
    for e, m, row in zip(out, batch["attention_mask"], ids):
        own = row[m.bool()]
        positions = (own == model.config.vlm_config.image_token_id).nonzero().flatten().tolist() \
            if hasattr(model.config, "vlm_config") else []
        result.append({
            "embedding": e[m.bool()].float().tolist(),
            "image_patch_start": positions[0] if positions else 0,
            "image_patch_len": len(positions),
            "image_patch_indices": positions,
        })
    return {"embeddings": result}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
