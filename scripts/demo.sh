#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root): build troupe, boot three local
# testbed hosts, deploy a 3-node etcd cluster with playbooks/etcd.yml, show its health.
# Leaves the hosts up; `bash tests/testbed/testbed.sh down` removes them.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/testbed/install-deps.sh
cargo build --release --quiet
export PATH="$PWD/target/release:$PATH"

state=${TROUPE_TESTBED_DIR:-/run/troupe-testbed}
bash tests/testbed/testbed.sh up 3
# The first three testbed hosts as group `etcd`, numbered by etcd_seq.
inv=$PWD/target/demo-inventory.yml
awk '/^testbed:/{print "etcd:"; next} /^    [a-z]+[0-9]+:$/{n++; if (n > 3) exit; print; print "      etcd_seq: " n; next} {print}' \
  "$state/inventory.yml" > "$inv"

./playbooks/etcd.yml -i "$inv" -e etcd_clean=true

first=$(awk '/ansible_host:/{print $2; exit}' "$inv")
ssh -i "$state/id_ed25519" -o UserKnownHostsFile="$state/known_hosts" -o StrictHostKeyChecking=yes "root@$first" \
  '. /etc/profile.d/etcdctl.sh && etcdctl endpoint health --cluster && etcdctl member list -w table'
