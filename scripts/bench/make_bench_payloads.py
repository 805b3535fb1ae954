"""Writes the load benchmark's request bodies: a short query as JSON and one synthetic
document page (PNG) as multipart/form-data.

usage: make_bench_payloads.py OUT_DIR
"""
import json
import pathlib
import sys

import numpy as np
from PIL import Image, ImageDraw

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
(out / "query.json").write_text(json.dumps({"queries": ["What was the total revenue in the 2023 annual report?"]}))

# A white page with lines of dark "text" blocks and a chart-like box, letter size at 100 dpi.
rng = np.random.RandomState(0)
page = Image.new("RGB", (850, 1100), "white")
draw = ImageDraw.Draw(page)
for row in range(60, 1040, 22):
    x = 70
    while x < 780:
        width = int(rng.randint(20, 90))
        draw.rectangle([x, row, min(x + width, 780), row + 10], fill=(30, 30, 30))
        x += width + 12
draw.rectangle([120, 600, 730, 900], outline=(0, 0, 120), width=4)
buffer = pathlib.Path(out / "page.png")
page.save(buffer)

boundary = "benchboundary7d1e"
body = (
    f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"page.png\"\r\n"
    "Content-Type: image/png\r\n\r\n"
).encode() + buffer.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
(out / "image.multipart").write_bytes(body)
(out / "image.content-type").write_text(f"multipart/form-data; boundary={boundary}")
print(out)
