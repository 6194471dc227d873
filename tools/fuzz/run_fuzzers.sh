#!/usr/bin/env bash
# Builds healthwire's libFuzzer targets with Debian's clang-14
# (-fsanitize=fuzzer,address,undefined) straight from the sources, then runs
# each for N seconds on a seed corpus made from tests/testdata.
#
#   tools/fuzz/run_fuzzers.sh [seconds-per-target] [target...]
#
# seconds defaults to 60; targets default to all (terra_converter_fuzzer,
# dom_to_proto_differential_fuzzer, signature_header_fuzzer). Exit status 0 when no target crashed. A crashing
# input is kept (under $TEST_UNDECLARED_OUTPUTS_DIR when run by Bazel, else in
# the work folder, printed at the end) and can be replayed with
#   <work>/bin/<target> <crash-file>
#
# Environment: FUZZ_WORK_DIR (default: $TEST_TMPDIR or a fresh mktemp folder)
# keeps the binaries and the grown corpus; CXX (default clang++-14);
# FUZZ_JOBS (default 1) parallel fuzzing processes per target; FUZZ_AT_ONCE (default:
# all) targets fuzzed at the same time.
# Works from the source tree and from Bazel runfiles (//tools/fuzz:fuzz_test).
set -euo pipefail

SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
  TARGETS=(terra_converter_fuzzer dom_to_proto_differential_fuzzer signature_header_fuzzer)
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CXX="${CXX:-clang++-14}"
WORK="${FUZZ_WORK_DIR:-${TEST_TMPDIR:-$(mktemp -d -t healthwire-fuzz.XXXXXX)}}"
ARTIFACTS="${TEST_UNDECLARED_OUTPUTS_DIR:-$WORK/artifacts}"
FUZZ_JOBS="${FUZZ_JOBS:-1}"
mkdir -p "$WORK/gen" "$WORK/obj" "$WORK/bin" "$ARTIFACTS"

if ! command -v "$CXX" >/dev/null; then
  echo "run_fuzzers: $CXX not found; run tools/setup.sh (clang-14, libclang-rt-14-dev)" >&2
  exit 1
fi

cd "$ROOT"
echo "run_fuzzers: sources $ROOT, work folder $WORK, ${SECONDS_PER_TARGET}s per target"

# --- generated protobuf code (messages only: the targets need no gRPC) ---
# Into a scratch folder first; a file that did not change keeps its old
# timestamp, so a re-run with the same FUZZ_WORK_DIR does not recompile it.
rm -rf "$WORK/gen.new" && mkdir -p "$WORK/gen.new"
protoc -Iproto --cpp_out="$WORK/gen.new" proto/healthwire/terra/terra.proto proto/healthwire/v1/healthwire.proto
for f in healthwire/terra/terra.pb.h healthwire/terra/terra.pb.cc healthwire/v1/healthwire.pb.h healthwire/v1/healthwire.pb.cc; do
  mkdir -p "$(dirname "$WORK/gen/$f")"
  cmp -s "$WORK/gen.new/$f" "$WORK/gen/$f" || cp "$WORK/gen.new/$f" "$WORK/gen/$f"
done

SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
# Generated and library code: instrumented for ASan/UBSan but not for coverage
# (fuzzer-no-link), which keeps the fuzzer's attention on healthwire's code.
# -O0: the generated code is big and optimizing it costs most of the build.
LIB_SAN="-O0 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
CXXFLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer -I. -I"$WORK/gen" -w)
LIBS=$(pkg-config --libs absl_statusor absl_strings absl_time absl_str_format absl_hash absl_raw_hash_set protobuf simdjson openssl)

compile() {  # compile <flags> <src> <obj>
  local flags="$1" src="$2" obj="$3"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
    # shellcheck disable=SC2086
    "$CXX" "${CXXFLAGS[@]}" $flags -c "$src" -o "$obj"
  fi
}

# Compile in parallel (two at a time is what CI machines have).
pids=()
compile "$LIB_SAN" "$WORK/gen/healthwire/terra/terra.pb.cc" "$WORK/obj/terra.pb.o" & pids+=($!)
compile "$LIB_SAN" "$WORK/gen/healthwire/v1/healthwire.pb.cc" "$WORK/obj/healthwire.pb.o" & pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done
pids=()
# The converter's sources (server/BUILD: terra_converter and its deps).
# (Paths without .cc; their objects are named by the file's base name.)
CONVERTER_SRCS=(server/convert/terra_converter server/convert/json_body_parser
                server/convert/raw_json_slices server/convert/lenient_json_to_proto
                server/convert/dom_to_proto server/convert/record_key
                storage/id_limits)
CONVERTER_OBJS=()
for src in "${CONVERTER_SRCS[@]}" server/webhook/signature_verifier; do
  compile "$SAN" "$src.cc" "$WORK/obj/$(basename "$src").o" & pids+=($!)
  if [ "${#pids[@]}" -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for src in "${CONVERTER_SRCS[@]}"; do CONVERTER_OBJS+=("$WORK/obj/$(basename "$src").o"); done
compile "$SAN" tools/fuzz/terra_converter_fuzzer.cc "$WORK/obj/terra_converter_fuzzer.o" & pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done
pids=()
compile "$SAN" tests/converter/conversion_diff.cc "$WORK/obj/conversion_diff.o" & pids+=($!)
compile "$SAN" tools/fuzz/dom_to_proto_differential_fuzzer.cc \
  "$WORK/obj/dom_to_proto_differential_fuzzer.o" & pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done
compile "$SAN" tools/fuzz/signature_header_fuzzer.cc "$WORK/obj/signature_header_fuzzer.o"

# shellcheck disable=SC2086
"$CXX" $SAN -o "$WORK/bin/terra_converter_fuzzer" "$WORK/obj/terra_converter_fuzzer.o" \
  "${CONVERTER_OBJS[@]}" "$WORK/obj/healthwire.pb.o" "$WORK/obj/terra.pb.o" $LIBS
# shellcheck disable=SC2086
"$CXX" $SAN -o "$WORK/bin/dom_to_proto_differential_fuzzer" \
  "$WORK/obj/dom_to_proto_differential_fuzzer.o" "$WORK/obj/conversion_diff.o" \
  "${CONVERTER_OBJS[@]}" "$WORK/obj/healthwire.pb.o" "$WORK/obj/terra.pb.o" $LIBS
# shellcheck disable=SC2086
"$CXX" $SAN -o "$WORK/bin/signature_header_fuzzer" "$WORK/obj/signature_header_fuzzer.o" \
  "$WORK/obj/signature_verifier.o" $LIBS

# --- seed corpora ---
for target in terra_converter_fuzzer dom_to_proto_differential_fuzzer; do
  mkdir -p "$WORK/corpus/$target"
  cp tests/testdata/*.json "$WORK/corpus/$target/"
  if [ -d tests/hostile ]; then
    # Small hostile bodies too (the big generated ones are not files).
    find tests/hostile -name '*.body' -size -64k -exec cp {} "$WORK/corpus/$target/" \;
  fi
done
mkdir -p "$WORK/corpus/signature_header_fuzzer"
sig="$WORK/corpus/signature_header_fuzzer"
# Terra's published test vector (secret foo), and header shapes around it.
printf '%s\n%s' 't=12345678,v1=599aa529690b885a43f184327c582375068d70705b7a471af15e10682c6f5313' \
  "{'bar':'baz'}" > "$sig/terra_vector"
printf '%s\n%s' ' t=1782900000 , v1=599aa529690b885a43f184327c582375068d70705b7a471af15e10682c6f5313 , v0=abc,' \
  '{}' > "$sig/whitespace_v0"
printf '%s\n%s' 't=1782900000,v1=599AA529690B885A43F184327C582375068D70705B7A471AF15E10682C6F5313,v1=00' \
  '{}' > "$sig/two_v1"
printf '%s\n' 't=,v1=' > "$sig/empty_values"
printf '%s\n' 't=99999999999999999999,v1=zz' > "$sig/huge_t"
n=0
for f in tests/testdata/*.json; do
  n=$((n + 1))
  { printf 't=%d,v1=%064d\n' $((1782900000 - n)) 0; cat "$f"; } > "$sig/testdata_$(basename "$f")"
done

# --- fuzz ---
DICT_DIR="$ROOT/tools/fuzz"
cd "$WORK"  # libFuzzer writes fuzz-<n>.log files here when -jobs > 1
# Targets run at once (FUZZ_AT_ONCE, default all of them): CI's wall time is the
# longest target's, not their sum, and CPU time per target is seconds x cores / targets.
FUZZ_AT_ONCE="${FUZZ_AT_ONCE:-${#TARGETS[@]}}"
run_target() {
  local target="$1" dict status
  local extra=()
  dict="$DICT_DIR/$target.dict"
  # Both converter targets read Terra bodies: one dictionary.
  if [ "$target" = dom_to_proto_differential_fuzzer ]; then dict="$DICT_DIR/terra_converter_fuzzer.dict"; fi
  if [ -f "$dict" ]; then extra+=(-dict="$dict"); fi
  if [ "$FUZZ_JOBS" -gt 1 ]; then extra+=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS"); fi
  mkdir -p "$WORK/grown/$target"
  set +e
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="print_stacktrace=1" \
    "$WORK/bin/$target" "${extra[@]}" -max_total_time="$SECONDS_PER_TARGET" -timeout=25 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$ARTIFACTS/$target-" \
    "$WORK/grown/$target" "$WORK/corpus/$target" > "$WORK/$target.log" 2>&1
  status=$?
  set -e
  echo "$status" > "$WORK/$target.status"
}
running=()
for target in "${TARGETS[@]}"; do
  echo "run_fuzzers: $target for ${SECONDS_PER_TARGET}s"
  run_target "$target" & running+=($!)
  if [ "${#running[@]}" -ge "$FUZZ_AT_ONCE" ]; then wait "${running[0]}"; running=("${running[@]:1}"); fi
done
for pid in "${running[@]}"; do wait "$pid"; done
failed=()
for target in "${TARGETS[@]}"; do
  status="$(cat "$WORK/$target.status")"
  echo "run_fuzzers: $target:"
  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::(number_of_executed_units|peak_rss_mb|new_units_added)|SUMMARY)' \
    "$WORK/$target.log" || true
  if [ "$status" -ne 0 ]; then
    echo "run_fuzzers: $target FAILED (exit $status); log $WORK/$target.log, artifacts in $ARTIFACTS" >&2
    tail -n 80 "$WORK/$target.log" >&2
    failed+=("$target")
  else
    echo "run_fuzzers: $target ok"
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "run_fuzzers: crashes in ${failed[*]}" >&2
  exit 1
fi
echo "run_fuzzers: all targets ran ${SECONDS_PER_TARGET}s without a crash"
