#!/usr/bin/env bash
# docs/input.md's key reference is the one the key table generates (tools/update_input_docs.sh
# refreshes it).
source "$(dirname "$0")/lib.sh"
doc="$SOURCE_DIR/docs/input.md"
sed -n '/<!-- BEGIN INPUT REFERENCE -->/,/<!-- END INPUT REFERENCE -->/p' "$doc" \
  | sed '1d;$d' > doc_part.md
"$INVRG" --print-input-reference > generated.md
if diff -u generated.md doc_part.md > diff.txt; then pass "docs/input.md key reference is current"; else
  fail "docs/input.md key reference differs from the key table; run tools/update_input_docs.sh"; cat diff.txt
fi
[ -s doc_part.md ] && pass "docs/input.md has a key reference" || fail "docs/input.md reference section missing"
finish
