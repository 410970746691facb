#!/usr/bin/env bash
# Installs what the testbed (tests/testbed/testbed.sh) needs on a Debian 12 machine.
# Idempotent: when every package is already installed it does nothing, not even `apt-get update`.
#
# The machine's own sshd and etcd must not start from this install (the hosts boot this machine's
# filesystem through an overlay and start their own). A policy-rc.d that denies every start keeps
# them down; testbed.sh removes that file only inside each host's overlay.
set -euo pipefail

packages=(
  openssh-server openssh-client  # sshd inside the hosts; ssh, ssh-keygen here
  etcd-server etcd-client        # what the e2e playbooks deploy (hosts see this machine's packages)
  systemd-container              # systemd-nspawn
  systemd dbus                   # systemd-id128; a system bus inside the hosts
  iproute2                       # ip link / ip addr for the bridge
  attr                           # setfattr: the opaque /root in each overlay
  util-linux procps              # mount, mountpoint, kill, ps
  dpkg-dev                       # dpkg-scanpackages: the local apt repository of an e2e test
  time                           # /usr/bin/time: a test measures troupe's peak memory
  sudo                           # become: sudo with NOPASSWD, cached and asked passwords (e2e_transport)
  dnf rpm createrepo-c           # rpmbuild + createrepo_c: the local rpm repository of the dnf e2e test
  python3-venv                   # the ansible-core venv (scripts/test.sh, tests/ansible-int/run.sh)
  python3-pip git rsync iptables # the pip, git, synchronize and iptables modules' e2e tests
  gnupg python3-apt python3-debian  # gpg keys of e2e_repos; what Ansible's apt_repository/deb822_repository import
)

missing=()
for p in "${packages[@]}"; do
  if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]]; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: needs root to install: ${missing[*]}" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# troupe install-deps: keep services from starting during the install\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  made_policy=1
fi
# Leave the machine as found: a policy-rc.d we made is removed again afterwards.
cleanup() { if ((made_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
