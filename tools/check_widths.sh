#!/usr/bin/env bash
# The kernel's narrower versions give the same bits as the one this machine picks.
#
#   tools/check_widths.sh [run options...]       (from any folder; needs g++ and cmake)
#
# The hot loops come in one version per vector width (AVX-512, AVX2, baseline; cpp/include/p4core/simd.hpp,
# P4CORE_WIDTHS), and the loader runs only the widest this CPU supports, so the test suite exercises one.
# This builds p4core twice more into build/widths/ with a single width each (-DP4CORE_NO_CLONES, with and
# without -mavx2), runs the kernel, course, screen and fit tests against each build, runs the built-in demo
# with the current environment's p4core and with each build (extra arguments go to every run: e.g. the
# Kang 2018 overrides), and compares every output file with tools/same_outputs.py (all but the timings).
# Exit 0 when every build passes the tests and wrote the same files.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
DEST=${P4CORE_WIDTHS_DIR:-build/widths}
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -rf "$DEST/runs"
mkdir -p "$DEST/runs"
run() {  # run NAME [env...]: the demo (or the given overrides) into $DEST/runs/NAME, its log shown if it fails
  local name=$1
  shift
  if ! "$@" -m p4core "${ARGS[@]}" hydra.run.dir="$DEST/runs/$name" > "$DEST/runs/$name.log" 2>&1; then
    tail -20 "$DEST/runs/$name.log"
    echo "$name: the run failed (log: $DEST/runs/$name.log)"
    exit 1
  fi
}
ARGS=("$@")
run dispatched "$PY"
status=0
for variant in avx2 baseline; do
  flags="-DP4CORE_NO_CLONES"
  [ "$variant" = avx2 ] && flags="-mavx2 $flags"
  rm -rf "$DEST/$variant/site"
  "$PY" -m pip install --quiet --no-deps --no-build-isolation --target "$DEST/$variant/site" \
    --config-settings=cmake.define.CMAKE_CXX_FLAGS="$flags" \
    --config-settings=build-dir="$DEST/$variant/build" .
  PYTHONPATH="$DEST/$variant/site:$SITE" "$PY" -S -c \
    'import p4core._core as c, sys; print("kernel:", c.__file__); sys.exit(0 if "widths" in c.__file__ else 1)'
  PYTHONPATH="$DEST/$variant/site:$SITE" "$PY" -S -m pytest -p no:cacheprovider -q \
    tests/kernel/test_kernel.py tests/course/test_course.py tests/screen/test_screen.py tests/twin/test_fit.py | tail -1
  SECONDS=0
  run "$variant" env PYTHONPATH="$DEST/$variant/site:$SITE" "$PY" -S
  echo "$variant: run in ${SECONDS} s"
  if "$PY" tools/same_outputs.py "$DEST/runs/dispatched" "$DEST/runs/$variant"; then
    echo "$variant: the same files as the dispatched build"
  else
    status=1
  fi
done
exit $status
