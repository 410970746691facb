#!/usr/bin/env bash
# The testbed: N real hosts on this machine, each a systemd-nspawn container that boots this
# machine's own Debian through an overlay, with systemd as PID 1, its own address on a private
# bridge and an sshd that root logs into with a key. See tests/testbed/README.md and
# shared/testbed.md (the measured recipe this follows).
#
#   testbed.sh up N     start hosts tb1..tbN (idempotent; adds hosts when N grows), write the
#                       inventory, print its path on stdout
#   testbed.sh down     stop and remove everything `up` made, by what it recorded
#   testbed.sh status   list the hosts and whether ssh answers
#
# Everything started or made is recorded in the state dir before it is made, so `down` can undo
# a half-finished `up` (even one killed with SIGKILL). Processes are only ever signalled by the
# PIDs recorded here, after checking that the PID still runs what we started.
set -euo pipefail

readonly STATE=${TROUPE_TESTBED_DIR:-/run/troupe-testbed}
# A second testbed on the same machine needs its own state dir, bridge, subnet and host names
# (nspawn names each host's veth after it).
readonly BRIDGE=${TROUPE_TESTBED_BRIDGE:-tb0}
readonly SUBNET_PREFIX=${TROUPE_TESTBED_SUBNET:-10.213.0}
readonly HOST_PREFIX=${TROUPE_TESTBED_HOST_PREFIX:-tb}
readonly BRIDGE_ADDR=$SUBNET_PREFIX.254
readonly FIRST_OCTET=31
readonly MAX_HOSTS=200
readonly TMPFS_SIZE=${TROUPE_TESTBED_TMPFS_SIZE:-1g}
readonly BOOT_TIMEOUT=${TROUPE_TESTBED_BOOT_TIMEOUT:-90}
readonly STOP_TIMEOUT=15
readonly NSPAWN_RUN_DIR=/run/systemd/nspawn
SELF=$(readlink -f "${BASH_SOURCE[0]}")
readonly SELF

log() { printf 'testbed: %s\n' "$*" >&2; }
die() {
  printf 'testbed: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  cat >&2 <<EOF
usage: $0 up N | down | status
  state dir: $STATE (set TROUPE_TESTBED_DIR to change)
EOF
  exit 2
}

host_name() { printf '%s%d' "$HOST_PREFIX" "$1"; }
host_ip() { printf '%s.%d' "$SUBNET_PREFIX" $((FIRST_OCTET + $1 - 1)); }
host_dir() { printf '%s/hosts/%s' "$STATE" "$(host_name "$1")"; }

# ---------------------------------------------------------------------------------------------
# Recorded processes

# pid_runs PID NEEDLE: true when PID is alive and its command line has NEEDLE as whole arguments. Guards every
# signal we send against PID reuse.
pid_runs() {
  local pid=$1 needle=$2 cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  # The NULs between arguments became spaces: a trailing one keeps tb1 from matching tb10.
  [[ $cmdline == *"$needle "* ]]
}

read_pid() { [[ -f $1 ]] && cat "$1" 2>/dev/null || true; }

# wait_gone PID NEEDLE SECONDS: wait until PID no longer runs NEEDLE.
wait_gone() {
  local pid=$1 needle=$2 deadline=$((SECONDS + $3))
  while pid_runs "$pid" "$needle"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Not the script's path: a copy in another checkout must recognise the same hosts.
loop_needle() { printf 'testbed.sh _loop %s' "$1"; }
nspawn_needle() { printf -- '--machine=%s' "$(basename "$1")"; }

# ---------------------------------------------------------------------------------------------
# Mounts: each is appended to HOSTDIR/mounts before it is made, and undone in reverse order.

record_mount() { printf '%s\n' "$2" >>"$1/mounts"; }

unmount_recorded() {
  local hd=$1 mp
  [[ -f $hd/mounts ]] || return 0
  while IFS= read -r mp; do
    [[ -n $mp ]] || continue
    if mountpoint -q "$mp"; then
      umount "$mp" || die "cannot unmount $mp (still busy?); see: fuser -vm $mp"
    fi
  done < <(tac "$hd/mounts")
}

# ---------------------------------------------------------------------------------------------
# Cgroups: nspawn puts itself in <its cgroup>/supervisor and the guest in <its cgroup>/payload.
# Started from one cgroup, every guest's systemd would manage the same /payload/system.slice/…
# (stopping a unit on one host would kill it on the others), so each host's nspawn starts in a
# cgroup of its own, in every hierarchy nspawn uses: the unified one and, on a hybrid machine,
# systemd's named v1 one. Recorded in HOSTDIR/cgroups before they are made.

cgroup_roots() {
  findmnt -rn -t cgroup2 -o TARGET | head -n 1
  findmnt -rn -t cgroup -o TARGET,OPTIONS | awk '$2 ~ /(^|,)name=systemd(,|$)/ { print $1; exit }'
}

make_cgroups() {
  local hd=$1 root cg
  while IFS= read -r root; do
    [[ -n $root ]] || continue
    cg=$root/troupe-testbed-$(basename "$hd")
    printf '%s\n' "$cg" >>"$hd/cgroups"
    mkdir -p "$cg"
  done < <(cgroup_roots)
}

remove_cgroups() {
  local hd=$1 cg
  [[ -f $hd/cgroups ]] || return 0
  while IFS= read -r cg; do
    [[ -n $cg && -d $cg ]] || continue
    find "$cg" -depth -type d -exec rmdir {} + || die "cannot remove cgroup $cg (processes left in it?)"
  done <"$hd/cgroups"
}

# ---------------------------------------------------------------------------------------------
# One host

# The wrapper that keeps a host running: nspawn exits 133 when the guest reboots, so start it
# again then, unless `down` asked it to stop. Runs detached (own session), output to console.log.
cmd_loop() {
  local hd=$1 name merged rc
  name=$(basename "$hd")
  merged=$hd/merged
  echo $$ >"$hd/loop.pid"
  local cg
  while IFS= read -r cg; do echo $$ >"$cg/cgroup.procs"; done <"$hd/cgroups"
  while [[ ! -e $hd/stop ]]; do
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -D "$merged" --boot --machine="$name" \
      --network-bridge="$BRIDGE" --register=no --keep-unit --console=read-only </dev/null &
    echo $! >"$hd/nspawn.pid"
    rc=0
    wait $! || rc=$?
    echo "testbed-loop: nspawn for $name exited with $rc at $(date -Is)"
    [[ $rc -eq 133 ]] || break
  done
  rm -f "$hd/nspawn.pid" "$hd/loop.pid"
}

# Stop a host's processes: SIGTERM nspawn (a clean poweroff of the guest); if the guest is still
# up after STOP_TIMEOUT, SIGKILL its init (which ends every process in its PID namespace).
stop_host_processes() {
  local hd=$1 loop_pid npid child
  touch "$hd/stop"
  for _ in 1 2 3; do
    npid=$(read_pid "$hd/nspawn.pid")
    if [[ -n $npid ]] && pid_runs "$npid" "$(nspawn_needle "$hd")"; then
      kill -TERM "$npid" 2>/dev/null || true
      if ! wait_gone "$npid" "$(nspawn_needle "$hd")" "$STOP_TIMEOUT"; then
        log "$(basename "$hd"): guest still up after ${STOP_TIMEOUT}s; killing its init"
        for child in $(ps -o pid= --ppid "$npid" 2>/dev/null); do
          kill -KILL "$child" 2>/dev/null || true
        done
        wait_gone "$npid" "$(nspawn_needle "$hd")" 5 || kill -KILL "$npid" 2>/dev/null || true
        wait_gone "$npid" "$(nspawn_needle "$hd")" 5 || die "nspawn $npid will not exit"
      fi
    fi
    loop_pid=$(read_pid "$hd/loop.pid")
    if [[ -z $loop_pid ]] || wait_gone "$loop_pid" "$(loop_needle "$hd")" 3; then
      # The loop may have started one more nspawn just before it saw the stop file.
      npid=$(read_pid "$hd/nspawn.pid")
      if [[ -z $npid ]] || ! pid_runs "$npid" "$(nspawn_needle "$hd")"; then
        return 0
      fi
    fi
  done
  loop_pid=$(read_pid "$hd/loop.pid")
  if [[ -n $loop_pid ]] && pid_runs "$loop_pid" "$(loop_needle "$hd")"; then
    kill -KILL "$loop_pid" 2>/dev/null || true
  fi
}

# Remove one host completely: processes, mounts, files.
remove_host() {
  local hd=$1
  [[ -d $hd ]] || return 0
  stop_host_processes "$hd"
  remove_cgroups "$hd"
  unmount_recorded "$hd"
  if findmnt -rn -o TARGET | grep -qF -- "$hd/"; then
    die "something is still mounted under $hd; not removing it"
  fi
  rm -rf --one-file-system -- "$hd"
}

host_healthy() {
  local hd=$1 loop_pid npid
  [[ -e $hd/ready && ! -e $hd/stop ]] || return 1
  loop_pid=$(read_pid "$hd/loop.pid")
  npid=$(read_pid "$hd/nspawn.pid")
  pid_runs "$loop_pid" "$(loop_needle "$hd")" && pid_runs "$npid" "$(nspawn_needle "$hd")" &&
    mountpoint -q "$hd/merged"
}

# Write /etc/hosts inside a host: every testbed host by name, and this machine.
write_etc_hosts() {
  local merged=$1 name=$2 count=$3 i
  {
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n%s\ttb-controller\n' "$name" "$BRIDGE_ADDR"
    for ((i = 1; i <= count; i++)); do printf '%s\t%s\n' "$(host_ip "$i")" "$(host_name "$i")"; done
  } >"$merged/etc/hosts"
}

prepare_host() {
  local i=$1 count=$2 hd name ip tmp merged
  hd=$(host_dir "$i")
  name=$(host_name "$i")
  ip=$(host_ip "$i")
  tmp=$hd/tmpfs
  merged=$hd/merged
  mkdir -p "$tmp" "$merged"
  echo "$ip" >"$hd/ip"

  record_mount "$hd" "$tmp"
  mount -t tmpfs -o "size=$TMPFS_SIZE,mode=0700" "troupe-testbed-$name" "$tmp"
  mkdir -p "$tmp/upper" "$tmp/work"

  # /root is opaque in the upper layer: this machine's own /root (rc files, tool caches, keys)
  # must not show through. Debian's skeleton dotfiles go in instead.
  install -d -m 0700 "$tmp/upper/root" "$tmp/upper/root/.ssh"
  setfattr -n trusted.overlay.opaque -v y "$tmp/upper/root"
  cp -a /etc/skel/. "$tmp/upper/root/"
  install -m 0600 "$STATE/id_ed25519.pub" "$tmp/upper/root/.ssh/authorized_keys"

  record_mount "$hd" "$merged"
  mount -t overlay -o "lowerdir=/,upperdir=$tmp/upper,workdir=$tmp/work" "troupe-testbed-$name" "$merged"

  echo "$name" >"$merged/etc/hostname"
  systemd-id128 new >"$merged/etc/machine-id"
  write_etc_hosts "$merged" "$name" "$count"

  # A host key of its own (this machine's keys would be shared by every host otherwise).
  rm -f "$merged"/etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -C "root@$name" -f "$merged/etc/ssh/ssh_host_ed25519_key"
  cp "$merged/etc/ssh/ssh_host_ed25519_key.pub" "$hd/host_key.pub"
  cat >"$merged/etc/ssh/sshd_config.d/10-troupe-testbed.conf" <<EOF
# troupe testbed host: key logins for root only
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
# One host stands in for many inventory names (tests/e2e_scale.rs) while other suites log in
# too: the default 10:30:100 would drop some of the helpers' plain ssh logins at random.
MaxStartups 100:30:200
EOF

  # Only the bridge's subnet: no gateway, no DHCP, no router advertisements.
  cat >"$merged/etc/systemd/network/10-host0.network" <<EOF
[Match]
Name=host0

[Network]
Address=$ip/24
DHCP=no
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF

  # Inside a host, package installs may start services (this machine's policy-rc.d forbids it).
  rm -f "$merged/usr/sbin/policy-rc.d"

  systemctl --root="$merged" --quiet enable systemd-networkd.service ssh.service 2>/dev/null
  if [[ -e $merged/lib/systemd/system/etcd.service ]]; then
    systemctl --root="$merged" --quiet disable etcd.service 2>/dev/null
  fi
  systemctl --root="$merged" --quiet mask postgresql.service getty@tty1.service 2>/dev/null
}

start_host() {
  local i=$1 hd loop_pid deadline
  hd=$(host_dir "$i")
  rm -f "$hd/loop.pid" "$hd/nspawn.pid"
  [[ -s $hd/cgroups ]] || make_cgroups "$hd"
  setsid bash "$SELF" _loop "$hd" </dev/null >>"$hd/console.log" 2>&1 9>&- &
  # The loop writes its own PID first thing; wait for it so it is recorded before we go on.
  deadline=$((SECONDS + 10))
  until [[ -s $hd/nspawn.pid ]]; do
    ((SECONDS < deadline)) || die "$(host_name "$i"): nspawn did not start; see $hd/console.log"
    sleep 0.05
  done
  loop_pid=$(read_pid "$hd/loop.pid")
  pid_runs "$loop_pid" "$(loop_needle "$hd")" || die "$(host_name "$i"): loop wrapper not running"
}

# ---------------------------------------------------------------------------------------------
# ssh

ssh_opts() {
  printf '%s\n' -i "$STATE/id_ed25519" -o "UserKnownHostsFile=$STATE/known_hosts" \
    -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=3 -o LogLevel=ERROR
}

host_ssh() {
  local ip=$1
  shift
  local opts
  mapfile -t opts < <(ssh_opts)
  ssh "${opts[@]}" "root@$ip" "$@"
}

tcp_open() { timeout 0.5 bash -c 'exec 3<>"/dev/tcp/$1/22"' _ "$1" 2>/dev/null; }

# Wait until one host answers ssh and its systemd reports running (or degraded); false on timeout.
wait_host() {
  local i=$1 deadline=$2 hd ip state=
  hd=$(host_dir "$i")
  ip=$(host_ip "$i")
  while ((SECONDS < deadline)); do
    state=
    if tcp_open "$ip"; then
      state=$(host_ssh "$ip" systemctl is-system-running 2>/dev/null) || true
    fi
    case $state in
      running | degraded)
        [[ $state == degraded ]] &&
          log "$(host_name "$i"): degraded: $(host_ssh "$ip" systemctl --failed --plain --no-legend 2>/dev/null | awk '{print $1}' | tr '\n' ' ')"
        touch "$hd/ready"
        return 0
        ;;
    esac
    sleep 0.2
  done
  log "$(host_name "$i"): not ready after ${BOOT_TIMEOUT}s (last state: ${state:-no ssh}); boot log: $hd/console.log"
  return 1
}

# Wait for every host not yet marked ready, all at once.
wait_ready() {
  local count=$1 deadline=$((SECONDS + BOOT_TIMEOUT)) i
  local -a pids=() names=() late=()
  for ((i = 1; i <= count; i++)); do
    [[ -e $(host_dir "$i")/ready ]] && continue
    wait_host "$i" "$deadline" &
    pids+=($!)
    names+=("$(host_name "$i")")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || late+=("${names[$i]}")
  done
  ((${#late[@]} == 0)) || die "timed out waiting for: ${late[*]}; clean up with: bash $SELF down"
}

# ---------------------------------------------------------------------------------------------
# State-dir wide files

write_known_hosts() {
  local count=$1 i
  for ((i = 1; i <= count; i++)); do
    printf '%s,%s %s\n' "$(host_name "$i")" "$(host_ip "$i")" \
      "$(cut -d' ' -f1,2 "$(host_dir "$i")/host_key.pub")"
  done >"$STATE/known_hosts.tmp"
  mv "$STATE/known_hosts.tmp" "$STATE/known_hosts"
}

write_inventory() {
  local count=$1 i
  {
    echo "# Written by tests/testbed/testbed.sh; removed by \`testbed.sh down\`."
    echo "testbed:"
    echo "  hosts:"
    for ((i = 1; i <= count; i++)); do
      cat <<EOF
    $(host_name "$i"):
      ansible_host: $(host_ip "$i")
      ansible_user: root
      ansible_ssh_private_key_file: $STATE/id_ed25519
      ansible_ssh_common_args: "-o UserKnownHostsFile=$STATE/known_hosts -o StrictHostKeyChecking=yes"
EOF
    done
  } >"$STATE/inventory.yml.tmp"
  mv "$STATE/inventory.yml.tmp" "$STATE/inventory.yml"
}

# How many hosts the state dir knows about (tb1..tbK, contiguous).
recorded_count() {
  local i=0
  while [[ -d $(host_dir $((i + 1))) ]]; do i=$((i + 1)); done
  echo "$i"
}

take_lock() {
  exec 9>>"$STATE/lock"
  flock -w 120 9 || die "another testbed.sh holds $STATE/lock"
}

check_settings() {
  [[ $BRIDGE =~ ^[a-z][a-z0-9]{0,11}$ ]] || die "TROUPE_TESTBED_BRIDGE must be a short interface name, got '$BRIDGE'"
  [[ $HOST_PREFIX =~ ^[a-z][a-z0-9-]{0,5}$ ]] || die "TROUPE_TESTBED_HOST_PREFIX must be 1-6 of [a-z0-9-], got '$HOST_PREFIX'"
  [[ $SUBNET_PREFIX =~ ^(10\.[0-9]{1,3}|192\.168|172\.(1[6-9]|2[0-9]|3[01]))\.[0-9]{1,3}$ ]] ||
    die "TROUPE_TESTBED_SUBNET must be the first three octets of a private /24 (like 10.213.0), got '$SUBNET_PREFIX'"
  [[ $BOOT_TIMEOUT =~ ^[0-9]+$ ]] || die "TROUPE_TESTBED_BOOT_TIMEOUT must be whole seconds, got '$BOOT_TIMEOUT'"
}

need_root() { [[ $(id -u) -eq 0 ]] || die "needs root"; }

check_deps() {
  local cmd missing=()
  for cmd in systemd-nspawn systemd-id128 sshd ssh ssh-keygen ip setfattr findmnt mountpoint flock setsid; do
    command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd ]] || missing+=("$cmd")
  done
  ((${#missing[@]} == 0)) || die "missing ${missing[*]}; run: bash $(dirname "$SELF")/install-deps.sh"
}

# ---------------------------------------------------------------------------------------------
# Commands

# Each host's systemd holds inotify instances; the kernel's default of 128 per user runs out with
# a few testbeds side by side ("Too many open files" at boot). Raise, never lower.
raise_inotify_limits() {
  local key want have
  for key in max_user_instances:8192 max_user_watches:1048576; do
    want=${key#*:} key=${key%%:*}
    have=$(cat "/proc/sys/fs/inotify/$key" 2>/dev/null || echo 0)
    ((have >= want)) || echo "$want" >"/proc/sys/fs/inotify/$key" || log "could not raise fs.inotify.$key to $want"
  done
}

cmd_up() {
  local want=${1:-}
  [[ $want =~ ^[1-9][0-9]*$ ]] && ((want <= MAX_HOSTS)) || die "up needs a host count 1..$MAX_HOSTS, got '${want}'"
  need_root
  check_deps
  install -d -m 0700 "$STATE" "$STATE/hosts"
  take_lock
  raise_inotify_limits
  trap 'rc=$?; ((rc == 0)) || log "up failed; state kept in $STATE; to remove what it made run: bash $SELF down"' EXIT

  # Leftovers of an `up` that did not finish (or hosts that died): remove and make again.
  local hd i have
  for hd in "$STATE"/hosts/*; do
    [[ -d $hd ]] || continue
    if ! host_healthy "$hd"; then
      log "$(basename "$hd"): not running (left over from an interrupted up or down, or it died); recreating it"
      remove_host "$hd"
    fi
  done
  have=$(recorded_count)
  # Hosts beyond a gap cannot be numbered contiguously; remove them too.
  for hd in "$STATE"/hosts/*; do
    [[ -d $hd ]] || continue
    i=${hd##*/"$HOST_PREFIX"}
    ((i > have)) && remove_host "$hd"
  done
  local count=$((want > have ? want : have))

  if [[ ! -e $STATE/made-nspawn-dir && ! -e $STATE/nspawn-dir-checked ]]; then
    [[ -d $NSPAWN_RUN_DIR ]] || touch "$STATE/made-nspawn-dir"
    touch "$STATE/nspawn-dir-checked"
  fi

  if ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    [[ -e $STATE/bridge ]] || die "bridge $BRIDGE exists but this testbed ($STATE) did not make it; remove it (ip link del $BRIDGE) or set TROUPE_TESTBED_DIR to the state dir that made it"
  else
    touch "$STATE/bridge"
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$BRIDGE_ADDR/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up

  [[ -s $STATE/id_ed25519 ]] || {
    rm -f "$STATE/id_ed25519" "$STATE/id_ed25519.pub"
    ssh-keygen -q -t ed25519 -N '' -C troupe-testbed -f "$STATE/id_ed25519"
  }

  local started=0
  for ((i = have + 1; i <= count; i++)); do
    prepare_host "$i" "$count"
  done
  # Hosts already running learn the new names too.
  if ((count > have)); then
    for ((i = 1; i <= have; i++)); do
      write_etc_hosts "$(host_dir "$i")/merged" "$(host_name "$i")" "$count"
    done
  fi
  write_known_hosts "$count"
  write_inventory "$count"
  for ((i = have + 1; i <= count; i++)); do
    start_host "$i"
    started=$((started + 1))
  done

  wait_ready "$count"
  if ((started == 0)); then
    log "$count host(s) already up"
  else
    log "$count host(s) up ($started started) in ${SECONDS}s"
  fi
  echo "$STATE/inventory.yml"
}

nspawn_left() {
  local exe target
  target=$(readlink -f "$(command -v systemd-nspawn)")
  for exe in /proc/[0-9]*/exe; do
    [[ $(readlink "$exe" 2>/dev/null) == "$target" ]] && return 0
  done
  return 1
}

cmd_down() {
  need_root
  if [[ ! -d $STATE ]]; then
    log "nothing to take down ($STATE does not exist)"
    return 0
  fi
  take_lock
  local hd
  for hd in "$STATE"/hosts/*; do
    [[ -d $hd ]] || continue
    remove_host "$hd"
  done
  if [[ -e $STATE/bridge ]]; then
    ! ip link show dev "$BRIDGE" >/dev/null 2>&1 || ip link del "$BRIDGE"
    rm -f "$STATE/bridge"
  fi
  if [[ -e $STATE/made-nspawn-dir ]] && ! nspawn_left; then
    rm -rf --one-file-system "$NSPAWN_RUN_DIR"
  fi
  rm -f "$STATE/made-nspawn-dir" "$STATE/nspawn-dir-checked" "$STATE/id_ed25519" \
    "$STATE/id_ed25519.pub" "$STATE/known_hosts" "$STATE/known_hosts.tmp" "$STATE/inventory.yml" \
    "$STATE/inventory.yml.tmp" "$STATE/lock"
  rmdir "$STATE/hosts" "$STATE" 2>/dev/null || die "$STATE still holds files this script did not make: $(ls -A "$STATE")"
  log "down in ${SECONDS}s"
}

cmd_status() {
  if [[ ! -d $STATE/hosts ]]; then
    echo "no testbed ($STATE)"
    return 1
  fi
  local count i hd ip proc sshok bad=0
  count=$(recorded_count)
  ((count > 0)) || {
    echo "no hosts in $STATE"
    return 1
  }
  echo "inventory: $STATE/inventory.yml"
  for ((i = 1; i <= count; i++)); do
    hd=$(host_dir "$i")
    ip=$(host_ip "$i")
    proc=stopped
    pid_runs "$(read_pid "$hd/nspawn.pid")" "$(nspawn_needle "$hd")" && proc=running
    sshok=no
    if [[ -f $STATE/known_hosts ]] && host_ssh "$ip" true 2>/dev/null; then sshok=yes; fi
    [[ $sshok == yes ]] || bad=1
    printf '%s\t%s\tnspawn:%s\tssh:%s\n' "$(host_name "$i")" "$ip" "$proc" "$sshok"
  done
  return "$bad"
}

main() {
  check_settings
  case ${1:-} in
    up) cmd_up "${2:-}" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    _loop) cmd_loop "$2" ;;
    *) usage ;;
  esac
}

main "$@"
