# Helpers for the shell tests: each test runs in a fresh temporary directory.
# Environment from CTest: INVRG (the binary), MPIEXEC, PYTHON, SOURCE_DIR.
set -uo pipefail
failures=0
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
cd "$workdir" || exit 1

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# expect_status <status> <description> -- command...
expect_status() {
  local want=$1 what=$2
  shift 3
  "$@" >out.txt 2>err.txt
  local got=$?
  if [ "$got" -eq "$want" ]; then pass "$what (exit $got)"; else
    fail "$what: exit $got, expected $want"; sed 's/^/  | /' out.txt err.txt
  fi
}

# expect_grep <file> <fixed string> <description>
expect_grep() {
  if grep -qF -- "$2" "$1"; then pass "$3"; else
    fail "$3: '$2' not in $1"; sed 's/^/  | /' "$1"
  fi
}

finish() {
  if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
  echo "all passed"
}
