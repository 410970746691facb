#!/usr/bin/env bash
# report.sh [TARGET...]: the pass table from $ANSINT/results (the last run of each target and
# tool), then the first failure troupe hit in each target Ansible passes.
set -u
: "${ANSINT:?}"
R=$ANSINT/results
[ -f "$R/summary.tsv" ] || { echo "no results in $R"; exit 1; }
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cut -f1 "$R/summary.tsv" | awk '!seen[$0]++'); fi
last() { awk -F'\t' -v t="$1" -v tool="$2" '$1==t && $2==tool {line=$4"\t"$5"\t"$3} END {print line}' "$R/summary.tsv"; }
first_failure() {
  grep -m1 -E '^(fatal|failed): |^\[ERROR\]|^ERROR!|^error: |FAILED!|^[A-Za-z]*Error:' "$1" 2>/dev/null | cut -c1-220
}
printf "%-32s %-10s %-9s %-9s %s\n" target kind ansible troupe verdict
base=0 pass=0 ran=0
for t in "${targets[@]}"; do
  IFS=$'\t' read -r arc asec kind <<<"$(last "$t" ansible)"
  IFS=$'\t' read -r trc tsec tkind <<<"$(last "$t" troupe)"
  kind=${kind:-$tkind}
  ran=$((ran + 1))
  if [ "${arc:-}" != 0 ]; then verdict="- (ansible rc=${arc:-not run})"
  elif [ "${trc:-}" = 0 ]; then verdict=pass; base=$((base + 1)); pass=$((pass + 1))
  else verdict=FAIL; base=$((base + 1)); fi
  printf "%-32s %-10s %-9s %-9s %s\n" "$t" "${kind:-?}" "rc=${arc:-?} ${asec:-?}s" "rc=${trc:-?} ${tsec:-?}s" "$verdict"
done
echo
echo "troupe passes $pass of the $base targets ansible-playbook passes ($ran targets run)"
echo
for t in "${targets[@]}"; do
  IFS=$'\t' read -r arc _ _ <<<"$(last "$t" ansible)"
  IFS=$'\t' read -r trc _ _ <<<"$(last "$t" troupe)"
  if [ "${arc:-}" = 0 ] && [ "${trc:-}" != 0 ]; then
    line=$(first_failure "$R/troupe/$t.log")
    echo "$t: ${line:-(no error line; rc=${trc:-?}, see $R/troupe/$t.log)}"
  fi
done
