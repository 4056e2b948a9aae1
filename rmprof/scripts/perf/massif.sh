#!/usr/bin/env bash
# Record heap snapshots of a command with valgrind's massif; the command's stdout passes through.
set -euo pipefail

usage() {
    echo "usage: $(basename "$0") -o OUT_FILE -- COMMAND [ARGS...]"
    echo "  writes the massif profile to OUT_FILE (read it with ms_print OUT_FILE)"
}

out_file=""
while getopts "o:h" opt; do
    case "$opt" in
        o) out_file="$OPTARG" ;;
        h) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [[ -z "$out_file" || $# -eq 0 ]]; then
    usage >&2
    exit 2
fi

# --peak-inaccuracy=0.0: record the true peak, not one within 1 % of it (slower, inputs are small).
# --threshold=0.1: keep allocation sites down to 0.1 % of the heap in the trees.
# Rust's allocator shims are allocation functions, so sites name the code that allocated.
exec valgrind --tool=massif --massif-out-file="$out_file" --peak-inaccuracy=0.0 --threshold=0.1 \
    --alloc-fn=__rust_alloc --alloc-fn=__rust_alloc_zeroed --alloc-fn=__rust_realloc \
    --alloc-fn=__rdl_alloc --alloc-fn=__rdl_alloc_zeroed --alloc-fn=__rdl_realloc \
    --alloc-fn='*GlobalAlloc>::alloc' --alloc-fn='*GlobalAlloc>::alloc_zeroed' \
    --alloc-fn='*GlobalAlloc>::realloc' \
    -- "$@"
