#!/usr/bin/env bash
# run.sh [TARGET | @LISTFILE ...]: run ansible-core 2.19.14's own integration targets with
# ansible-playbook (the baseline) and with troupe, each target on fresh testbed hosts, then print
# the pass table and troupe's first failure in each target. No argument: every target of
# targets.txt. See tests/ansible-int/README.md.
# Env (all optional): ANSINT (work folder, default target/ansint), VENV (a venv holding
# ansible-core 2.19.14; default $ANSINT/venv, made on first use), TROUPE_BIN (default: a release
# build), TOOLS ("ansible troupe"), TMO (seconds per target, 300), KEEP_TESTBED=1,
# LOCAL_CONTROLLER=1 (context/controller role targets on this machine, as ansible-test does),
# EXPECT=FILE (exit 1 if a target listed there, e.g. passing.txt, fails with troupe),
# TROUPE_TESTBED_DIR/_BRIDGE/_SUBNET/_HOST_PREFIX (default /run/tb-ans, tba0, 10.213.7, ta).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export ANSINT=${ANSINT:-$ROOT/target/ansint}
export VENV=${VENV:-$ANSINT/venv}
export TROUPE_TESTBED_DIR=${TROUPE_TESTBED_DIR:-/run/tb-ans} TROUPE_TESTBED_BRIDGE=${TROUPE_TESTBED_BRIDGE:-tba0} \
       TROUPE_TESTBED_SUBNET=${TROUPE_TESTBED_SUBNET:-10.213.7} TROUPE_TESTBED_HOST_PREFIX=${TROUPE_TESTBED_HOST_PREFIX:-ta}
export TB_DIR=$TROUPE_TESTBED_DIR
TB="$ROOT/tests/testbed/testbed.sh"
TOOLS=${TOOLS:-ansible troupe}

targets=()
[ $# -eq 0 ] && set -- "@$HERE/targets.txt"
for arg in "$@"; do
  case $arg in
    @*) mapfile -t -O "${#targets[@]}" targets < <(grep -v '^\s*#' "${arg#@}" | grep -v '^\s*$') ;;
    *) targets+=("$arg") ;;
  esac
done

if [ ! -x "$VENV/bin/ansible-playbook" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet ansible-core==2.19.14
fi
if [ -z "${TROUPE_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  export TROUPE_BIN=$ROOT/target/release/troupe
fi
bash "$HERE/prep.sh"

fresh_hosts() {
  bash "$TB" down >/dev/null 2>&1 || true
  bash "$TB" up 2 >/dev/null || { echo "testbed up failed" >&2; exit 1; }
}
teardown() { [ "${KEEP_TESTBED:-0}" = 1 ] || bash "$TB" down >/dev/null 2>&1 || true; }
trap teardown EXIT
bash "$TB" up 2 >/dev/null || { echo "testbed up failed" >&2; exit 1; }

n=0
for t in "${targets[@]}"; do
  n=$((n + 1))
  [ -d "$ANSINT/src/test/integration/targets/$t" ] || { echo "no target '$t' in ansible-core 2.19.14" >&2; exit 2; }
  # Role targets change the host; runme.sh targets mostly use their own local inventories.
  [ -f "$ANSINT/src/test/integration/targets/$t/runme.sh" ] || fresh_hosts
  for tool in $TOOLS; do
    case $tool in ansible) ip=$TROUPE_TESTBED_SUBNET.31 ;; troupe) ip=$TROUPE_TESTBED_SUBNET.32 ;; *) echo "tool '$tool'?" >&2; exit 2 ;; esac
    printf '[%d/%d] %-32s %s\r' "$n" "${#targets[@]}" "$t" "$tool" >&2
    HOST_IP=$ip bash "$HERE/run-target.sh" "$tool" "$t" || true
  done
done
printf '%*s\r' 60 '' >&2
bash "$HERE/report.sh" "${targets[@]}"

# The ratchet: a target that passed before must still pass (when Ansible passes it here).
if [ -n "${EXPECT:-}" ]; then
  regressed=0
  for t in $(grep -v '^\s*#' "$EXPECT"); do
    printf '%s\n' "${targets[@]}" | grep -qx "$t" || continue
    rcs=$(awk -F'\t' -v t="$t" '$1==t {rc[$2]=$4} END {print rc["ansible"]" "rc["troupe"]}' "$ANSINT/results/summary.tsv")
    if [ "${rcs% *}" = 0 ] && [ "${rcs#* }" != 0 ]; then echo "regression: $t passed before and fails now"; regressed=1; fi
  done
  exit $regressed
fi
