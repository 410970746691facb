#!/usr/bin/env bash
# troupe vs ansible-core on three testbed hosts. Run by hand, as root (not in CI):
#
#   bash bench/run.sh            # BENCH_RUNS=5 BENCH_LIMIT=tb4,tb5,tb6 BENCH_TASKS=50
#   BENCH_TROUPE=/path/troupe    # time that binary instead of building this tree
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
BARE_COMMANDS=${BENCH_BARE_COMMANDS:-200}
ANSIBLE_SPEC=${BENCH_ANSIBLE:-ansible-core}
TARGET=/var/tmp/troupe-bench
VENV=$HERE/.venv

log() { printf 'bench: %s\n' "$*" >&2; }

WORK=$(mktemp -d /tmp/troupe-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

if [[ -n ${BENCH_TROUPE:-} ]]; then
  TROUPE=$BENCH_TROUPE # a given binary, e.g. an older build for a before/after in the same minutes
else
  log "building troupe --release"
  (cd "$ROOT" && cargo build --release --quiet)
  TROUPE=$ROOT/target/release/troupe
fi

if [[ ! -x $VENV/bin/ansible-playbook ]]; then
  log "installing $ANSIBLE_SPEC from PyPI into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$ANSIBLE_SPEC"
fi
ANSIBLE_VERSION=$("$VENV/bin/ansible-playbook" --version | sed -n 1p) # sed reads it all: no broken pipe

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
      case $((i % 5)) in
        0) printf '    - command: echo %d\n      changed_when: false\n' "$i" ;;
        1) printf '    - file: {path: "{{ d }}/dir%d", state: directory, mode: "0755"}\n' "$i" ;;
        2) printf '    - copy: {dest: "{{ d }}/copy%d.txt", content: "line %d {{ inventory_hostname }}\\n"}\n' "$i" "$i" ;;
        3) printf '    - template: {src: t.j2, dest: "{{ d }}/tpl%d.conf"}\n      vars: {n: %d}\n' "$i" "$i" ;;
        4) printf '    - lineinfile: {path: "{{ d }}/li%d.conf", regexp: "^n=", line: "n=%d", create: true}\n' "$i" "$i" ;;
      esac
    done
  } >"$file"
}
write_playbook "$WORK/bench.yml" "$TASKS"
write_playbook "$WORK/one.yml" 1

# One kind of task, repeated on the same path: after a first run every task is a no-op.
# Each kind comes with the shell line that does the same check by hand (its bare command).
KINDS=(true file copy template lineinfile)
STAT="stat -c '%f|%u|%g|%s|%X|%Y|%Z|%i|%d|%h|%U|%G' --"
declare -A TASK=(
  [true]='command: "true"\n      changed_when: false'
  [file]='file: {path: "{{ d }}/kdir", state: directory}'
  [copy]='copy: {dest: "{{ d }}/kcopy", content: "hello\\n"}'
  [template]='template: {src: t.j2, dest: "{{ d }}/ktpl"}\n      vars: {n: 1}'
  [lineinfile]='lineinfile: {path: "{{ d }}/kline", line: "n=1", create: true}'
)
declare -A BARE_CMD=(
  [true]="/bin/true"
  [file]="$STAT $TARGET/kdir"
  [copy]="$STAT $TARGET/kcopy; sha1sum <$TARGET/kcopy"
  [template]="$STAT $TARGET/ktpl; sha1sum <$TARGET/ktpl"
  [lineinfile]="$STAT $TARGET/kline; cat $TARGET/kline"
)
write_kind() { # FILE NTASKS KIND
  printf -- '- hosts: testbed\n  gather_facts: false\n  vars:\n    d: %s\n  tasks:\n' "$TARGET" >"$1"
  printf '    - file: {path: "{{ d }}", state: directory}\n' >>"$1"
  for ((i = 0; i < $2; i++)); do printf "    - ${TASK[$3]}\n" >>"$1"; done
}
for kind in "${KINDS[@]}"; do
  write_kind "$WORK/$kind.yml" "$TASKS" "$kind"
  write_kind "$WORK/${kind}1.yml" 1 "$kind"
done

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

# bare_us LINE: sets BARE to the median time (µs) of one LINE typed into an already-open
# remote shell on the first host, output discarded, one `echo done` read back; 5 rounds of
# BARE_COMMANDS. (Not in `$(…)`: a coproc's pipes don't reach subshells.)
coproc SHELL_FD { ssh_to "${HOSTS[0]}" sh 2>/dev/null; }
echo 'echo ready' >&"${SHELL_FD[1]}"
read -r _ <&"${SHELL_FD[0]}"
bare_us() {
  local line="{ $1; } >/dev/null 2>&1; echo done" round i t0 t1 times=()
  for ((round = 0; round < 5; round++)); do
    t0=$(date +%s%N)
    for ((i = 0; i < BARE_COMMANDS; i++)); do
      echo "$line" >&"${SHELL_FD[1]}"
      read -r _ <&"${SHELL_FD[0]}"
    done
    t1=$(date +%s%N)
    times+=($(((t1 - t0) / 1000 / BARE_COMMANDS)))
  done
  BARE=$(printf '%s\n' "${times[@]}" | median)
}
marginal() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%d", (a - b) * 1000 / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / b }'; }

log "warming up (and checking both tools succeed)"
clean_targets
run_troupe "$WORK/bench.yml" || { cat "$WORK/last.out" >&2; exit 1; }
if [[ -z ${BENCH_SKIP_ANSIBLE:-} ]]; then
  run_ansible "$WORK/bench.yml" || { cat "$WORK/last.out" >&2; exit 1; }
  if ! grep -q 'changed=0' "$WORK/last.out"; then log "ansible's re-run was not a no-op:"; cat "$WORK/last.out" >&2; exit 1; fi
fi

log "timing: $RUNS runs each"
troupe_cold=$(time_runs troupe 1 "$WORK/bench.yml")
troupe_noop=$(time_runs troupe 0 "$WORK/bench.yml")
run_troupe "$WORK/bench.yml"
grep -q 'changed=0' "$WORK/last.out" || { log "troupe's re-run was not a no-op"; cat "$WORK/last.out" >&2; exit 1; }
troupe_one=$(time_runs troupe 0 "$WORK/one.yml")
troupe_noop_off=$(TROUPE_READ_AHEAD=off time_runs troupe 0 "$WORK/bench.yml")
if [[ -z ${BENCH_SKIP_ANSIBLE:-} ]]; then
  ansible_cold=$(time_runs ansible 1 "$WORK/bench.yml")
  ansible_noop=$(time_runs ansible 0 "$WORK/bench.yml")
else
  ansible_cold=0 ansible_noop=0
fi

log "per-task cost of each kind on ${HOSTS[0]}, and its bare command"
bare_us true
floor_us=$BARE
declare -A TASK_US OFF_US BARE_US
for kind in "${KINDS[@]}"; do
  RUN_LIMIT=${HOSTS[0]} run_troupe "$WORK/$kind.yml" || { cat "$WORK/last.out" >&2; exit 1; }
  many=$(RUN_LIMIT=${HOSTS[0]} time_runs troupe 0 "$WORK/$kind.yml")
  grep -q 'changed=0' "$WORK/last.out" || { log "$kind re-run was not a no-op"; cat "$WORK/last.out" >&2; exit 1; }
  one=$(RUN_LIMIT=${HOSTS[0]} time_runs troupe 0 "$WORK/${kind}1.yml")
  TASK_US[$kind]=$(marginal "$many" "$one" $((TASKS - 1)))
  # The same without reading ahead: every task reads its own path (A/B in the same minutes).
  many=$(RUN_LIMIT=${HOSTS[0]} TROUPE_READ_AHEAD=off time_runs troupe 0 "$WORK/$kind.yml")
  one=$(RUN_LIMIT=${HOSTS[0]} TROUPE_READ_AHEAD=off time_runs troupe 0 "$WORK/${kind}1.yml")
  OFF_US[$kind]=$(marginal "$many" "$one" $((TASKS - 1)))
  bare_us "${BARE_CMD[$kind]}"
  BARE_US[$kind]=$BARE
done
eval "exec ${SHELL_FD[1]}>&-"
wait "$SHELL_FD_PID" 2>/dev/null || true

per_task_us=$(marginal "$troupe_noop" "$troupe_one" $((TASKS - 1)))

cat <<TABLE

$TASKS tasks (command, file, copy, template, lineinfile) on 3 hosts ($LIMIT), median of $RUNS runs, wall time.
troupe $("$TROUPE" --version 2>/dev/null | head -n 1 || echo "(dev)"); $ANSIBLE_VERSION (pipelining on, forks 5).

| run | troupe | ansible-playbook | ansible / troupe |
|---|---:|---:|---:|
| cold (files removed before each run) | ${troupe_cold} ms | ${ansible_cold} ms | $(ratio "$ansible_cold" "$troupe_cold") |
| no-op re-run | ${troupe_noop} ms | ${ansible_noop} ms | $(ratio "$ansible_noop" "$troupe_noop") |

No-op re-run with reading ahead off (\`TROUPE_READ_AHEAD=off\`): ${troupe_noop_off} ms.

Mixed playbook, no-op: (${TASKS}-task run − 1-task run) / $((TASKS - 1)) = ${per_task_us} µs per task (3 hosts in parallel).

Per-task cost of one kind, no-op, one host (${HOSTS[0]}): ($TASKS tasks − 1 task) / $((TASKS - 1)), against the
same check typed by hand into an already-open remote shell (median of 5 × $BARE_COMMANDS).
The floor, a builtin \`true\` round trip in that shell: ${floor_us} µs.

| task | troupe | read-ahead off | bare command | bare | troupe / bare | troupe / floor |
|---|---:|---:|---|---:|---:|---:|
TABLE
for kind in "${KINDS[@]}"; do
  printf '| %s | %s µs | %s µs | `%s` | %s µs | %s | %s |\n' "$kind" "${TASK_US[$kind]}" "${OFF_US[$kind]}" \
    "${BARE_CMD[$kind]/$STAT/stat -c …}" "${BARE_US[$kind]}" "$(ratio "${TASK_US[$kind]}" "${BARE_US[$kind]}")" \
    "$(ratio "${TASK_US[$kind]}" "$floor_us")"
done
