#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root): build troupe, boot three local
# testbed hosts, deploy a 3-node etcd cluster with playbooks/etcd.yml, show its health.
# Leaves the hosts up; `bash tests/testbed/testbed.sh down` removes them.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/testbed/install-deps.sh
cargo build --release --quiet
export PATH="$PWD/target/release:$PATH"

bash tests/testbed/testbed.sh up 3
inv=/run/troupe-testbed/demo-inventory.yml
# The testbed's hosts, numbered for etcd (etcd_seq) in a group named etcd.
awk '/^testbed:/{print "etcd:"; next} {print} /^    tb[0-9]+:$/{n=substr($1,3); sub(":","",n); print "      etcd_seq: " n}' \
  /run/troupe-testbed/inventory.yml > "$inv"

./playbooks/etcd.yml -i "$inv" -e etcd_clean=true

ssh_args=(-i /run/troupe-testbed/id_ed25519 -o UserKnownHostsFile=/run/troupe-testbed/known_hosts -o StrictHostKeyChecking=yes)
ssh "${ssh_args[@]}" root@10.213.0.31 '. /etc/profile.d/etcdctl.sh && etcdctl endpoint health --cluster && etcdctl member list -w table'
