#!/usr/bin/env bash
# Regenerates the key reference of docs/input.md from the key table (invrg --print-input-reference).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
invrg=${INVRG:-$here/build/invrg}
source "$here/tools/env.sh"
ref=$(mktemp)
"$invrg" --print-input-reference > "$ref"
/usr/bin/python3 - "$here/docs/input.md" "$ref" <<'PY'
import sys
doc, ref = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
begin, end = "<!-- BEGIN INPUT REFERENCE -->\n", "<!-- END INPUT REFERENCE -->"
i, j = text.index(begin) + len(begin), text.index(end)
open(doc, "w").write(text[:i] + ref + text[j:])
PY
rm -f "$ref"
echo "updated $here/docs/input.md"
