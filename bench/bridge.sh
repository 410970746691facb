#!/usr/bin/env bash
# The cost of one bridged task (a module troupe lacks, run as Ansible's own through
# src/bridge/) next to a native one, on one testbed host; see bench/README.md ("The module
# bridge"). Run by hand, with the testbed up and ansible-core in a venv:
#
#   TROUPE_TESTBED_INVENTORY=/run/troupe-testbed/inventory.yml BENCH_HOST=tb4 \
#   TROUPE_ANSIBLE_PYTHON=target/ansible-venv/bin/python3 bash bench/bridge.sh
#
# For each kind of task it times a playbook of 1 task and one of BENCH_TASKS (default 21)
# identical tasks that change nothing; (t_N - t_1) / (N - 1) is the cost of one task, t_1 the
# run's fixed cost. Kinds: native `copy` (content, unchanged), bridged `troupe_test.bridge.marker`
# (the test collection's smallest module) and bridged `community.general.pam_limits`; the same
# bridged playbooks under ansible-playbook (pipelining on) when BENCH_SKIP_ANSIBLE is not 1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TROUPE=${BENCH_TROUPE:-$ROOT/target/release/troupe}
INV=${TROUPE_TESTBED_INVENTORY:?set TROUPE_TESTBED_INVENTORY to the testbed inventory}
HOST=${BENCH_HOST:?set BENCH_HOST to one host of the inventory}
RUNS=${BENCH_RUNS:-5}
N=${BENCH_TASKS:-21}
PY=${TROUPE_ANSIBLE_PYTHON:-$ROOT/target/ansible-venv/bin/python3}
export TROUPE_ANSIBLE_PYTHON=$PY
export ANSIBLE_COLLECTIONS_PATH=$ROOT/target/test-collections:$ROOT/tests/fixtures/collections
export ANSIBLE_PIPELINING=1 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

task() {
  case $1 in
    copy) echo '    - copy: {dest: /tmp/troupe-bench-bridge/copy, content: "x\n"}' ;;
    marker) echo '    - troupe_test.bridge.marker: {path: /tmp/troupe-bench-bridge/marker, content: "x\n"}' ;;
    pam_limits) echo '    - community.general.pam_limits: {domain: b, limit_type: soft, limit_item: nofile, value: "1024", dest: /tmp/troupe-bench-bridge/limits}' ;;
  esac
}

playbook() { # KIND COUNT -> path
  local f=$WORK/$1-$2.yml
  { printf -- '- hosts: all\n  gather_facts: false\n  tasks:\n'
    printf '    - file: {path: /tmp/troupe-bench-bridge, state: directory}\n'
    for _ in $(seq "$2"); do task "$1"; done; } >"$f"
  echo "$f"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

per_task() { awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / (n - 1) }'; }

time_run() { # TOOL PLAYBOOK -> median ms
  local t0 t1
  for _ in $(seq "$RUNS"); do
    t0=$(now_ms)
    if [ "$1" = troupe ]; then "$TROUPE" -i "$INV" -l "$HOST" "$2" >/dev/null
    else "$(dirname "$PY")/ansible-playbook" -i "$INV" -l "$HOST" "$2" >/dev/null; fi
    t1=$(now_ms)
    echo $((t1 - t0))
  done | median
}

echo "| tool | task | 1 task | $N tasks | per task |"
echo "|---|---|---:|---:|---:|"
for kind in copy marker pam_limits; do
  one=$(playbook "$kind" 1) many=$(playbook "$kind" "$N")
  "$TROUPE" -i "$INV" -l "$HOST" "$many" >/dev/null # converge once
  a=$(time_run troupe "$one") b=$(time_run troupe "$many")
  echo "| troupe | $kind | $a ms | $b ms | $(per_task "$a" "$b") ms |"
  if [ "$kind" != copy ] && [ "${BENCH_SKIP_ANSIBLE:-0}" != 1 ]; then
    a=$(time_run ansible "$one") b=$(time_run ansible "$many")
    echo "| ansible-playbook | $kind | $a ms | $b ms | $(per_task "$a" "$b") ms |"
  fi
done
