#!/usr/bin/env bash
# Mutation testing: does the test suite catch plausible slips? Each mutation of a list
# (default tests/mutations/list.txt) is applied alone to a copy of the tracked files, which is
# rebuilt and run against the suite: first the tests named on its line (quick), then, if they
# all pass, the rest (without the SLURM, valgrind and clone tests). A mutation is "caught" when a
# test fails, "survived" when none does, "invalid" when it does not apply or does not compile.
#
#   tools/mutate.sh [--list FILE] [--keep] [ID ...]     (IDs: only these mutations)
#
# The unmutated copy must pass the suite first. Run it before big refactors; every survivor needs
# a new test or a reason. Prints one line per mutation and a summary; exits 1 if any survived.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
list=$here/tests/mutations/list.txt
keep=0
only=()
while [ $# -gt 0 ]; do
  case $1 in
    --list) list=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) only+=("$1"); shift ;;
  esac
done
[ -f "$list" ] || { echo "mutate: no list '$list'" >&2; exit 2; }
# shellcheck source=tools/env.sh
source "$here/tools/env.sh"

work=$(mktemp -d)
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
# The list as it is now, like the tree: lines added while the run goes on would meet an older copy.
cp "$list" "$work/list.txt" || { echo "mutate: cannot copy the list '$list'" >&2; exit 1; }
echo "mutate: copying the tree to $work/tree and building it once"
mkdir -p "$work/tree"
(cd "$here" && git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work/tree") \
  || { echo "mutate: cannot copy the tree" >&2; exit 1; }
# A repository of its own, so that the copy's build records a git hash as the original's does.
git -C "$work/tree" init -q && git -C "$work/tree" add -A \
  && git -C "$work/tree" -c user.name=mutate -c user.email=mutate@localhost commit -qm copy \
  || { echo "mutate: cannot make the copy a git repository" >&2; exit 1; }
cmake -S "$work/tree" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON > "$work/configure.log" 2>&1 \
  && cmake --build "$work/build" -j "$(nproc)" > "$work/build.log" 2>&1 \
  || { echo "mutate: the unmutated copy does not build (see $work/build.log)" >&2; exit 1; }
exclude='slurm|valgrind|standalone|install|portable'
# A test that fails without any mutation would count every mutation as caught.
echo "mutate: running the suite once on the unmutated copy"
ctest --test-dir "$work/build" -E "$exclude" -j 2 > "$work/baseline.log" 2>&1 \
  || { echo "mutate: the suite fails without mutations (see $work/baseline.log)" >&2; exit 1; }

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; echo "${s%"${s##*[![:space:]]}"}"; }
caught=0 survived=0 invalid=0
survivors=()
while IFS= read -r line <&3; do  # fd 3: the builds and tests must not eat the list
  case $line in ''|'#'*) continue ;; esac
  IFS='|' read -r id file expr what focus <<< "$line"
  id=$(trim "$id"); file=$(trim "$file"); what=$(trim "$what"); focus=$(trim "$focus")
  expr=${expr# }; expr=${expr% }
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $id "* ]]; then continue; fi
  target=$work/tree/$file
  cp "$target" "$work/original"
  start=$SECONDS
  if ! sed -i -e "$expr" "$target" || cmp -s "$target" "$work/original"; then
    verdict=invalid; detail="does not apply to $file"
  elif ! cmake --build "$work/build" -j "$(nproc)" > "$work/mutant.log" 2>&1; then
    verdict=invalid; detail="does not compile"
  else
    verdict=survived; detail=""
    for selection in "-R $focus" "-E $focus|$exclude"; do
      [ -n "$focus" ] || selection="-E $exclude"
      # shellcheck disable=SC2086 # the selection is two words
      if ! ctest --test-dir "$work/build" $selection --stop-on-failure -j 2 > "$work/ctest.log" 2>&1; then
        verdict=caught
        detail=$(grep -m1 -oE '[0-9]+ - [A-Za-z0-9_]+ \(Failed|Timeout|SEGFAULT|Subprocess aborted' "$work/ctest.log" \
                 | sed 's/^[0-9]* - //; s/ (Failed//') 
        detail="by ${detail:-a test}"
        break
      fi
      [ -n "$focus" ] || break
    done
  fi
  cp "$work/original" "$target"
  case $verdict in caught) caught=$((caught + 1)) ;; survived) survived=$((survived + 1)); survivors+=("$id") ;; *) invalid=$((invalid + 1)) ;; esac
  printf '%-16s %-9s %4ds  %s  %s\n' "$id" "$verdict" $((SECONDS - start)) "$what" "$detail"
done 3< "$work/list.txt"
cmake --build "$work/build" -j "$(nproc)" > /dev/null 2>&1 # leave the copy unmutated (--keep)
echo "mutate: $caught caught, $survived survived, $invalid invalid${survivors:+ — survivors: ${survivors[*]}}"
[ "$survived" -eq 0 ]
