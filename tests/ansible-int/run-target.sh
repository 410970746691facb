#!/usr/bin/env bash
# run-target.sh TOOL TARGET: one ansible-core integration target with TOOL (ansible|troupe),
# as ansible-test runs it. Role targets (tasks/main.yml) run through a wrapper play
# (`hosts: testhost`, `output_dir`, `roles: [TARGET]`, roles path = the targets folder, so helper
# roles such as setup_remote_tmp_dir resolve); runme.sh targets run their own script with
# `ansible-playbook` on PATH being TOOL. Log: $ANSINT/results/TOOL/TARGET.log; one line per run
# appended to $ANSINT/results/summary.tsv.
# Env: ANSINT, VENV, TROUPE_BIN, TB_DIR (the testbed's state folder), HOST_IP (the target host).
set -u
TOOL=$1 T=$2
: "${ANSINT:?}" "${VENV:?}" "${TROUPE_BIN:?}" "${TB_DIR:?}" "${HOST_IP:?}"
W=$ANSINT/work/$TOOL
TD=$W/targets
RES=$ANSINT/results/$TOOL; mkdir -p "$RES"
LOG=$RES/$T.log
OUT=$W/output/$T; rm -rf "$OUT"; mkdir -p "$OUT"
SSHOPTS="-o UserKnownHostsFile=$TB_DIR/known_hosts -o StrictHostKeyChecking=yes"
# A few targets use output_dir on the remote side too.
ssh -i "$TB_DIR/id_ed25519" $SSHOPTS "root@$HOST_IP" "mkdir -p '$OUT'" </dev/null

# LOCAL_CONTROLLER=1: a `context/controller` role target runs on this machine, as ansible-test
# runs it (opt-in: its tasks then change this machine, not a testbed host).
local=0
[ "${LOCAL_CONTROLLER:-0}" = 1 ] && [ ! -f "$TD/$T/runme.sh" ] && grep -q '^context/controller' "$TD/$T/aliases" 2>/dev/null && local=1
if [ $local = 1 ]; then
cat > "$W/inventory" <<INV
testgroup:
  hosts:
    testhost:
      ansible_connection: local
      ansible_python_interpreter: /usr/bin/python3
INV
else
cat > "$W/inventory" <<INV
testgroup:
  hosts:
    testhost:
      ansible_connection: ssh
      ansible_host: $HOST_IP
      ansible_user: root
      ansible_port: 22
      ansible_pipelining: true
      ansible_python_interpreter: /usr/bin/python3
      ansible_ssh_private_key_file: $TB_DIR/id_ed25519
      ansible_ssh_common_args: "$SSHOPTS"
INV
fi

# ansible-playbook -> troupe for runme.sh targets (other ansible-* commands stay real)
SHIM=$ANSINT/shim; mkdir -p "$SHIM"
cat > "$SHIM/ansible-playbook" <<SH
#!/usr/bin/env bash
"$TROUPE_BIN" "\$@"; rc=\$?
echo "rc=\$rc cwd=\$(basename "\$PWD") troupe \$*" >> "\${SHIM_LOG:-/dev/null}"
exit \$rc
SH
chmod +x "$SHIM/ansible-playbook"

export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=false ANSIBLE_HOME=$ANSINT/ansible-home
export ANSIBLE_DEPRECATION_WARNINGS=false ANSIBLE_RETRY_FILES_ENABLED=false
export ANSIBLE_ROLES_PATH=$TD OUTPUT_DIR=$OUT INVENTORY_PATH=$W/inventory
export ANSIBLE_TEST_ANSIBLE_VERSION=2.19.14 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
[ -d "$ANSINT/pylib" ] && export PYTHONPATH=$ANSINT/pylib
export SHIM_LOG=$RES/$T.calls; rm -f "$SHIM_LOG"
if [ "$TOOL" = troupe ]; then export PATH=$SHIM:$VENV/bin:$PATH TROUPE_ANSIBLE_PYTHON=$VENV/bin/python; else export PATH=$VENV/bin:$PATH; fi

start=$(date +%s)
if [ -f "$TD/$T/runme.sh" ]; then
  kind=runme
  export ANSIBLE_PLAYBOOK_DIR=$TD/$T
  ( cd "$TD/$T" && timeout "${TMO:-300}" bash ./runme.sh ) >"$LOG" 2>&1 </dev/null
  rc=$?
else
  kind=role
  gf=true; grep -q '^gather_facts/no' "$TD/$T/aliases" 2>/dev/null && gf=false
  PB=$W/$T-wrap.yml
  cat > "$PB" <<YML
- hosts: testhost
  gather_facts: $gf
  vars:
    output_dir: $OUT
  roles:
    - $T
YML
  export ANSIBLE_PLAYBOOK_DIR=$W
  if [ "$TOOL" = troupe ]; then cmd=("$TROUPE_BIN"); else cmd=("$VENV/bin/ansible-playbook"); fi
  ( cd "$W" && timeout "${TMO:-300}" "${cmd[@]}" -i inventory "$PB" ) >"$LOG" 2>&1 </dev/null
  rc=$?
fi
[ $local = 1 ] && kind=$kind-local
printf '%s\t%s\t%s\t%s\t%s\n' "$T" "$TOOL" "$kind" "$rc" "$(( $(date +%s) - start ))" >> "$ANSINT/results/summary.tsv"
exit $rc
