#!/usr/bin/env bash
# The whole test suite: dependencies, lints, unit + integration tests, and the end-to-end
# tests on testbed hosts (booted here, always torn down).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Toolchain components and system packages the tests need.
rustup component add rustfmt clippy >/dev/null 2>&1 || true
if [ "$(id -u)" = 0 ]; then
  bash tests/testbed/install-deps.sh
fi

# ansible-core, the peer we compare listings against (PyPI, in a venv of our own).
venv="$root/target/ansible-venv"
if [ ! -x "$venv/bin/ansible-playbook" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'ansible-core>=2.19,<2.20'
fi
export TROUPE_ANSIBLE_PLAYBOOK="$venv/bin/ansible-playbook"
# The collections troupe implements modules of (ansible.posix, community.general,
# community.crypto), for ansible-playbook to compare with, and community.general for the
# module bridge's e2e tests: galaxy is out of reach, PyPI's
# `ansible` package bundles them. Unpacked once under target/.
colls="$root/target/ansible-collections"
if [ ! -d "$colls/ansible_collections/community/crypto" ]; then
  rm -rf "$colls.tmp" && mkdir -p "$colls.tmp"
  "$venv/bin/pip" download -q --no-deps -d "$colls.tmp" 'ansible>=12,<13'
  "$venv/bin/python" - "$colls.tmp" <<'PY'
import glob, sys, zipfile
out = sys.argv[1]
wanted = ("ansible_collections/ansible/posix/", "ansible_collections/community/general/",
          "ansible_collections/community/crypto/")
with zipfile.ZipFile(glob.glob(out + "/ansible-*.whl")[0]) as z:
    for name in z.namelist():
        if name.startswith(wanted):
            z.extract(name, out)
PY
  rm -f "$colls.tmp"/ansible-*.whl && mv "$colls.tmp" "$colls"
fi
export TROUPE_ANSIBLE_COLLECTIONS="$colls"

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo build --quiet

# Testbed hosts for the end-to-end tests, when this machine can boot them.
if [ "$(id -u)" = 0 ] && command -v systemd-nspawn >/dev/null; then
  trap 'bash tests/testbed/testbed.sh down || true' EXIT
  # 6 hosts: etcd uses tb1-tb4 (3 members + 1 to add), the module tests tb4-tb6; a lock orders them.
  bash tests/testbed/testbed.sh up "${TROUPE_TESTBED_HOSTS:-6}"
  export TROUPE_TESTBED_INVENTORY="${TROUPE_TESTBED_DIR:-/run/troupe-testbed}/inventory.yml"
  # Hosts were booted: a test that finds none fails instead of skipping.
  export TROUPE_REQUIRE_TESTBED=1
fi

cargo test -- --test-threads="${TROUPE_TEST_THREADS:-4}"

# ansible-core's own language and lookup integration targets, Ansible vs troupe (~4-5 min on 2
# cores; its own testbed): a target listed in tests/ansible-int/passing.txt must still pass.
# TROUPE_ANSIBLE_INT=0 skips it.
if [ "$(id -u)" = 0 ] && command -v systemd-nspawn >/dev/null && [ "${TROUPE_ANSIBLE_INT:-1}" = 1 ]; then
  TROUPE_BIN="$root/target/debug/troupe" EXPECT=tests/ansible-int/passing.txt \
    bash tests/ansible-int/run.sh @tests/ansible-int/language.txt @tests/ansible-int/lookups.txt
fi
