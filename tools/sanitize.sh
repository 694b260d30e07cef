#!/usr/bin/env bash
# The compiled kernel under AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   tools/sanitize.sh [pytest args]       (from any folder; needs g++ with libasan/libubsan)
#
# Builds p4core with -DP4CORE_SANITIZE=address,undefined (CMakeLists.txt) into build/sanitize/, then runs
# the kernel tests (propagation, screen terms, null draws, courses, the fit) against that build in a
# Python whose only p4core is the sanitized one (-S: no site-packages, so no editable install; the other
# dependencies come from the current environment's site-packages). Any ASan or UBSan report aborts
# the run with a non-zero exit. Leak detection is off: CPython itself does not free everything at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
DEST=${P4CORE_SANITIZE_DIR:-build/sanitize}
SANITIZERS=${P4CORE_SANITIZE:-address,undefined}
rm -rf "$DEST/site"
"$PY" -m pip install --quiet --no-deps --no-build-isolation --target "$DEST/site" \
  --config-settings=cmake.define.P4CORE_SANITIZE="$SANITIZERS" \
  --config-settings=build-dir="$DEST/build" .
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
CXX=${CXX:-g++}
PRELOAD=""
for lib in libasan.so libubsan.so; do
  path=$("$CXX" -print-file-name="$lib")
  [ -f "$path" ] && PRELOAD="${PRELOAD:+$PRELOAD:}$path"
done
export LD_PRELOAD="$PRELOAD"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export PYTHONMALLOC=malloc  # every Python allocation through ASan's malloc
PYTHONPATH="$DEST/site:$SITE" "$PY" -S -c 'import p4core._core as c, sys; print("sanitized kernel:", c.__file__); sys.exit(0 if "sanitize" in c.__file__ else 1)'
PYTHONPATH="$DEST/site:$SITE" "$PY" -S -m pytest -p no:cacheprovider -q \
  tests/kernel/test_kernel.py tests/course/test_course.py tests/screen/test_screen.py tests/twin/test_fit.py "$@"
