#!/usr/bin/env bash
# prep.sh: lay out $ANSINT once (idempotent):
#   dl/ansible_core-$VERSION.tar.gz     the pinned sdist from PyPI (checked against its sha256; never committed)
#   src/test/integration/targets        the integration targets unpacked from it
#   pylib/                              passlib for the controller (ansible-test's setup_passlib_controller)
# and fresh copies work/{ansible,troupe}/targets (targets write into their own folders).
set -euo pipefail
: "${ANSINT:?}" "${VENV:?}"
VERSION=2.19.14
SHA256=1e7612788eaa6b3c87a3670ce86c64b830eba0ae2b3fcb25a772f276704163b4
tgz=$ANSINT/dl/ansible_core-$VERSION.tar.gz
mkdir -p "$ANSINT/dl" "$ANSINT/src"
if [ ! -d "$ANSINT/src/test/integration/targets" ]; then
  [ -f "$tgz" ] || "$VENV/bin/pip" download --quiet --no-deps --no-binary :all: "ansible-core==$VERSION" -d "$ANSINT/dl"
  echo "$SHA256  $tgz" | sha256sum --check --quiet
  tar -xzf "$tgz" -C "$ANSINT/src" --strip-components=1 --wildcards 'ansible_core-*/test/integration/targets/*'
fi
[ -d "$ANSINT/pylib/passlib" ] || "$VENV/bin/pip" install --quiet --target "$ANSINT/pylib" passlib
for tool in ansible troupe; do
  rm -rf "$ANSINT/work/$tool"; mkdir -p "$ANSINT/work/$tool"
  cp -a "$ANSINT/src/test/integration/targets" "$ANSINT/work/$tool/targets"
  # tags/runme.sh wants en_US.UTF-8, which a minimal Debian lacks
  sed -i 's/LC_ALL=en_US.UTF-8/LC_ALL=C.UTF-8/' "$ANSINT/work/$tool/targets/tags/runme.sh"
done
