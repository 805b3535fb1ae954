# Sourced by the benchmark scripts: the full-size random checkpoint and the benchmark inputs,
# made on first use with the Python reference.
#   bench_checkpoint PYTHON ROOT DIR INPUTS
bench_checkpoint() {
    local py="$1" root="$2" dir="$3" inputs="$4"
    mkdir -p "$dir"
    if [ ! -f "$dir/model.safetensors" ] || [ ! -f "$dir/config.json" ]; then
        echo "== generating the full-size random checkpoint in $dir"
        "$py" "$root/scripts/fixtures/make_tiny_model.py" --full "$dir"
    fi
    if [ ! -f "$inputs" ]; then
        mkdir -p "$(dirname "$inputs")"
        "$py" "$root/scripts/bench/make_inputs.py" "$inputs" "$dir"
    fi
}
