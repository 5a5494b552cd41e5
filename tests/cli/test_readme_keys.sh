#!/usr/bin/env bash
# README's input reference is the one the key table generates (tools/update_readme.sh refreshes it).
source "$(dirname "$0")/lib.sh"
sed -n '/<!-- BEGIN INPUT REFERENCE -->/,/<!-- END INPUT REFERENCE -->/p' "$SOURCE_DIR/README.md" \
  | sed '1d;$d' > readme_part.md
"$INVRG" --print-input-reference > generated.md
if diff -u generated.md readme_part.md > diff.txt; then pass "README input reference is current"; else
  fail "README input reference differs from the key table; run tools/update_readme.sh"; cat diff.txt
fi
[ -s readme_part.md ] && pass "README has an input reference" || fail "README reference section missing"
finish
