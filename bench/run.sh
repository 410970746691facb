#!/usr/bin/env bash
# troupe vs ansible-core on three testbed hosts. Run by hand, as root (not in CI):
#
#   bash bench/run.sh            # BENCH_RUNS=5 BENCH_LIMIT=tb4,tb5,tb6 BENCH_TASKS=50
#
# Builds troupe --release, installs ansible-core from PyPI into bench/.venv, boots the testbed
# (tests/testbed/testbed.sh up), generates a playbook of small tasks (command, file, copy,
# template), and times each tool: cold (target files removed before each run, untimed) and
# no-op re-run. Also times one bare command in an already-open remote shell (ssh + sh, a coproc)
# to compare with troupe's per-task cost. Prints a markdown table with medians.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=${BENCH_RUNS:-5}
LIMIT=${BENCH_LIMIT:-tb4,tb5,tb6}
HOSTS_UP=${BENCH_HOSTS_UP:-6}
TASKS=${BENCH_TASKS:-50}
BARE_COMMANDS=${BENCH_BARE_COMMANDS:-500}
ANSIBLE_SPEC=${BENCH_ANSIBLE:-ansible-core}
TARGET=/var/tmp/troupe-bench
VENV=$HERE/.venv

log() { printf 'bench: %s\n' "$*" >&2; }

WORK=$(mktemp -d /tmp/troupe-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

log "building troupe --release"
(cd "$ROOT" && cargo build --release --quiet)
TROUPE=$ROOT/target/release/troupe

if [[ ! -x $VENV/bin/ansible-playbook ]]; then
  log "installing $ANSIBLE_SPEC from PyPI into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$ANSIBLE_SPEC"
fi
ANSIBLE_VERSION=$("$VENV/bin/ansible-playbook" --version | head -n 1)

log "testbed up $HOSTS_UP"
INV=$(bash "$ROOT/tests/testbed/testbed.sh" up "$HOSTS_UP" | tail -n 1)
IFS=, read -r -a HOSTS <<<"$LIMIT"

# host_var HOST VAR: a variable of HOST from the inventory testbed.sh writes.
host_var() {
  awk -v host="  $1:" -v key="$2:" '
    $0 == "    " substr(host, 3) { inside = 1; next }
    inside && /^    [^ ]/ { inside = 0 }
    inside && $1 == key { $1 = ""; sub(/^ /, ""); gsub(/^"|"$/, ""); print; exit }' "$INV"
}

ssh_to() {
  local host=$1
  shift
  # shellcheck disable=SC2046 # the common args are words on purpose
  ssh -T -o BatchMode=yes -i "$(host_var "$host" ansible_ssh_private_key_file)" \
    $(host_var "$host" ansible_ssh_common_args) "root@$(host_var "$host" ansible_host)" "$@"
}

# --- the playbooks ---------------------------------------------------------------------------
mkdir -p "$WORK/templates"
printf 'host={{ inventory_hostname }} n={{ n }}\n' >"$WORK/templates/t.j2"
write_playbook() { # FILE NTASKS
  local file=$1 n=$2 i
  {
    printf -- '- hosts: testbed\n  gather_facts: false\n  vars:\n    d: %s\n  tasks:\n' "$TARGET"
    printf '    - file: {path: "{{ d }}", state: directory}\n'
    for ((i = 2; i <= n; i++)); do
      case $((i % 4)) in
        0) printf '    - command: echo %d\n      changed_when: false\n' "$i" ;;
        1) printf '    - file: {path: "{{ d }}/dir%d", state: directory, mode: "0755"}\n' "$i" ;;
        2) printf '    - copy: {dest: "{{ d }}/copy%d.txt", content: "line %d {{ inventory_hostname }}\\n"}\n' "$i" "$i" ;;
        3) printf '    - template: {src: t.j2, dest: "{{ d }}/tpl%d.conf"}\n      vars: {n: %d}\n' "$i" "$i" ;;
      esac
    done
  } >"$file"
}
write_playbook "$WORK/bench.yml" "$TASKS"
write_playbook "$WORK/one.yml" 1
# The cheapest task there is: one `true` per task, for the per-task cost against a bare command.
write_true() { # FILE NTASKS
  printf -- '- hosts: testbed\n  gather_facts: false\n  tasks:\n' >"$1"
  for ((i = 0; i < $2; i++)); do printf '    - command: "true"\n      changed_when: false\n' >>"$1"; done
}
write_true "$WORK/true.yml" "$TASKS"
write_true "$WORK/true1.yml" 1

run_troupe() { "$TROUPE" -i "$INV" -l "${RUN_LIMIT:-$LIMIT}" "$@" >"$WORK/last.out" 2>&1; }
run_ansible() {
  (cd "$WORK" && env -u ANSIBLE_CONFIG ANSIBLE_PIPELINING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
    ANSIBLE_LOCAL_TEMP="$WORK/.ansible-tmp" ANSIBLE_RETRY_FILES_ENABLED=False \
    "$VENV/bin/ansible-playbook" -i "$INV" -l "$LIMIT" "$@" >"$WORK/last.out" 2>&1)
}

clean_targets() {
  local h
  for h in "${HOSTS[@]}"; do ssh_to "$h" "rm -rf $TARGET" </dev/null; done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# time_runs TOOL COLD PLAYBOOK: median wall time (ms) of RUNS runs; COLD=1 cleans first.
time_runs() {
  local tool=$1 cold=$2 playbook=$3 i t0 t1
  for ((i = 0; i < RUNS; i++)); do
    ((cold)) && clean_targets
    t0=$(now_ms)
    if ! "run_$tool" "$playbook"; then
      log "$tool $playbook failed:"
      tail -n 30 "$WORK/last.out" >&2
      exit 1
    fi
    t1=$(now_ms)
    echo $((t1 - t0))
  done | median
}

log "warming up (and checking both tools succeed)"
clean_targets
run_troupe "$WORK/bench.yml" || { cat "$WORK/last.out" >&2; exit 1; }
run_ansible "$WORK/bench.yml" || { cat "$WORK/last.out" >&2; exit 1; }
if ! grep -q 'changed=0' "$WORK/last.out"; then log "ansible's re-run was not a no-op:"; cat "$WORK/last.out" >&2; exit 1; fi

log "timing: $RUNS runs each"
troupe_cold=$(time_runs troupe 1 "$WORK/bench.yml")
ansible_cold=$(time_runs ansible 1 "$WORK/bench.yml")
troupe_noop=$(time_runs troupe 0 "$WORK/bench.yml")
run_troupe "$WORK/bench.yml"
grep -q 'changed=0' "$WORK/last.out" || { log "troupe's re-run was not a no-op"; cat "$WORK/last.out" >&2; exit 1; }
ansible_noop=$(time_runs ansible 0 "$WORK/bench.yml")
troupe_one=$(time_runs troupe 0 "$WORK/one.yml")
true_one=$(RUN_LIMIT=${HOSTS[0]} time_runs troupe 0 "$WORK/true1.yml")
true_many=$(RUN_LIMIT=${HOSTS[0]} time_runs troupe 0 "$WORK/true.yml")

# One bare command in an already-open remote shell: ssh + sh, fed through a coproc.
log "timing $BARE_COMMANDS bare commands in an open shell on ${HOSTS[0]}"
coproc SHELL_FD { ssh_to "${HOSTS[0]}" sh 2>/dev/null; }
echo 'echo ready' >&"${SHELL_FD[1]}"
read -r _ <&"${SHELL_FD[0]}"
t0=$(date +%s%N)
for ((i = 0; i < BARE_COMMANDS; i++)); do
  echo 'true; echo done' >&"${SHELL_FD[1]}"
  read -r _ <&"${SHELL_FD[0]}"
done
t1=$(date +%s%N)
eval "exec ${SHELL_FD[1]}>&-"
wait "$SHELL_FD_PID" 2>/dev/null || true
bare_us=$(((t1 - t0) / 1000 / BARE_COMMANDS))

marginal() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%d", (a - b) * 1000 / n }'; }
per_task_us=$(marginal "$troupe_noop" "$troupe_one" $((TASKS - 1)))
true_us=$(marginal "$true_many" "$true_one" $((TASKS - 1)))
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / b }'; }

cat <<TABLE

$TASKS tasks (command, file, copy, template) on 3 hosts ($LIMIT), median of $RUNS runs, wall time.
troupe $("$TROUPE" --version 2>/dev/null | head -n 1 || echo "(dev)"); $ANSIBLE_VERSION (pipelining on, forks 5).

| run | troupe | ansible-playbook | ansible / troupe |
|---|---:|---:|---:|
| cold (files removed before each run) | ${troupe_cold} ms | ${ansible_cold} ms | $(ratio "$ansible_cold" "$troupe_cold") |
| no-op re-run | ${troupe_noop} ms | ${ansible_noop} ms | $(ratio "$ansible_noop" "$troupe_noop") |

| per-task cost (no-op) | |
|---|---:|
| troupe, the mixed playbook: (${TASKS}-task run − 1-task run) / $((TASKS - 1)), 3 hosts in parallel | ${per_task_us} µs |
| troupe, \`command: true\` tasks: (${TASKS} tasks − 1 task) / $((TASKS - 1)), one host (${HOSTS[0]}) | ${true_us} µs |
| one bare \`true\` in an already-open remote shell (ssh + sh), one host (${HOSTS[0]}) | ${bare_us} µs |
| ratio, \`command: true\` task / bare command | $(ratio "$true_us" "$bare_us") |
TABLE
