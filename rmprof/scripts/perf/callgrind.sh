#!/usr/bin/env bash
# Count instructions of a command with valgrind's callgrind; the command's stdout passes through.
set -euo pipefail

usage() {
    echo "usage: $(basename "$0") -o OUT_FILE [-t FUNCTION_PATTERN] -- COMMAND [ARGS...]"
    echo "  writes the callgrind profile to OUT_FILE"
    echo "  -t PATTERN  count only inside functions matching PATTERN (valgrind --toggle-collect)"
}

out_file=""
toggle=""
while getopts "o:t:h" opt; do
    case "$opt" in
        o) out_file="$OPTARG" ;;
        t) toggle="$OPTARG" ;;
        h) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [[ -z "$out_file" || $# -eq 0 ]]; then
    usage >&2
    exit 2
fi

args=(--tool=callgrind --callgrind-out-file="$out_file")
if [[ -n "$toggle" ]]; then
    # Start counting only inside the pipeline: process start and the timing digits printed at the
    # end make whole-process counts differ by a few instructions from run to run.
    args+=(--collect-atstart=no --toggle-collect="$toggle")
fi
exec valgrind "${args[@]}" -- "$@"
