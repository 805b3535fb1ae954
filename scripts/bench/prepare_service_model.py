"""Makes a servable folder from the full-size benchmark checkpoint for the load benchmark.

The checkpoint of scripts/bench_model.sh has weights and config only. A service also needs
a tokenizer and processor configs; the test tokenizer (Tests/Fixtures/tokenizer) stands in
for the published one, with the published tile geometry (512 px tiles, longest edge 2048,
64 tokens per tile). The weights are linked, not copied; only `image_token_id` changes, to
the test tokenizer's `<image>` id, which leaves the architecture and the compute as they are.

usage: prepare_service_model.py CHECKPOINT_DIR OUT_DIR
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import make_tiny_model as tiny  # noqa: E402

source, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
weights = out / "model.safetensors"
if not weights.exists():
    weights.symlink_to(source / "model.safetensors")
tiny.write_processor_files(tiny.TOKENIZER_DIR, out, tiny.FULL_TILE, tiny.FULL_LONGEST_EDGE, image_seq_len=64)
tokenizer = tiny.load_tokenizer(out)
config = json.loads((source / "config.json").read_text())
config["image_token_id"] = tokenizer.convert_tokens_to_ids("<image>")
(out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
print(out)
