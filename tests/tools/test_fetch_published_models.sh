#!/usr/bin/env bash
# Tests tools/fetch_published_models.sh offline, through file:// mirrors (INVRG_MODELS_URL).
#
#   test_fetch_published_models.sh offline     runs everywhere: no network (an unreachable URL)
#       gives the clear message and exit 1; files that do not match the shipped sums (a mirror
#       of junk, a Git LFS pointer whose LFS file is junk) are refused by name, nothing converted
#   test_fetch_published_models.sh published   needs $INVRG_PUBLISHED_MODELS_DIR (the 26 .pth
#       files; exit 77 = skipped without it): all 26 verified and converted, input/published.nml
#       finds them, a second run downloads nothing, a tampered copy is refused, the LFS path
source "$SOURCE_DIR/tests/cli/lib.sh"
fetch=$SOURCE_DIR/tools/fetch_published_models.sh
sums=$SOURCE_DIR/tools/published_models.sha256
unreachable=http://127.0.0.1:9/upscaling_Ising   # the discard port: connection refused at once

n_files() { find "$1" -name "*.$2" 2>/dev/null | wc -l; }

# mirror DIR: a mirror holding one junk file per path of the sums file
junk_mirror() {
  while read -r _ path; do
    mkdir -p "$1/$(dirname "$path")" && echo "not a model" > "$1/$path"
  done < "$sums"
}

offline() {
  [ "$(grep -c '\.pth$' "$sums")" -eq 26 ] && pass "the sums file lists 26 models" \
    || fail "the sums file does not list 26 models"
  INVRG_MODELS_URL=$unreachable expect_status 1 "no network: exit 1" -- "$fetch" nonet
  first=$(head -1 "$sums" | awk '{print $2}')
  expect_grep err.txt "cannot download $unreachable/$first" "the message names the URL that failed"
  expect_grep err.txt "get the files by hand" "the message says how to get the files by hand"
  expect_grep err.txt "INVRG_MODELS_URL=file://" "the message says how to use a local copy"
  [ "$(n_files nonet h5)" -eq 0 ] && pass "no network: nothing converted" || fail "no network: .h5 files made"
  INVRG_MODELS_URL=file://$workdir/absent expect_status 1 "a missing mirror: exit 1" -- "$fetch" nomirror
  expect_grep err.txt "cannot download file://$workdir/absent/$first" "the missing mirror's URL named"

  junk_mirror junk
  INVRG_MODELS_URL=file://$workdir/junk expect_status 1 "a mirror of junk: exit 1" -- "$fetch" j
  [ "$(grep -c 'SHA-256 .*expected .*refused, not converted' err.txt)" -eq 26 ] \
    && pass "each of the 26 junk files refused by name" || { fail "junk files not all refused"; cat err.txt; }
  expect_grep err.txt "error: $first from file://$workdir/junk/$first: SHA-256" "the refusal names the file and its URL"
  [ "$(n_files j h5)" -eq 0 ] && [ "$(n_files j pth)" -eq 0 ] && [ "$(n_files j part)" -eq 0 ] \
    && pass "nothing kept or converted from junk" || fail "junk files kept or converted"

  # A Git LFS pointer is followed to the LFS URL (here junk too: refused, naming the LFS URL).
  while read -r sum path; do
    mkdir -p "lfs/$(dirname "$path")"
    printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize 1234\n' "$sum" > "lfs/$path"
  done < "$sums"
  INVRG_MODELS_URL=file://$workdir/lfs INVRG_MODELS_LFS_URL=file://$workdir/junk \
    expect_status 1 "Git LFS pointers, junk behind them: exit 1" -- "$fetch" l
  expect_grep err.txt "error: $first from file://$workdir/junk/$first" "the LFS URL was followed"

  expect_status 2 "two arguments: usage error" -- "$fetch" a b
  expect_status 0 "--help" -- "$fetch" --help
  expect_grep out.txt "INVRG_MODELS_URL" "--help documents the mirror variable"
}

published() {
  local ref=${INVRG_PUBLISHED_MODELS_DIR:-}
  if [ -z "$ref" ] || [ ! -d "$ref/models" ]; then
    echo "SKIP: INVRG_PUBLISHED_MODELS_DIR ('$ref') does not hold the published models"
    echo "  (tools/fetch_published_models.sh DIR gets them; configure with INVRG_PUBLISHED_MODELS_DIR=DIR)"
    exit 77
  fi
  INVRG_MODELS_URL=file://$(cd "$ref" && pwd) expect_status 0 "from a file:// mirror" -- "$fetch"
  expect_grep out.txt "26 of 26 models verified (26 downloaded, 0 already present), 26 converted" \
    "all 26 downloaded, verified and converted"
  [ "$(n_files published/models h5)" -eq 16 ] && [ "$(n_files published/weighted_loss_models h5)" -eq 10 ] \
    && pass "16 + 10 model files in published/models, published/weighted_loss_models" \
    || fail "model files: $(n_files published h5)"
  "$PYTHON" - <<'PY' && pass "each .h5 is its .pth's model, loss from its folder" || fail "converted files"
import h5py, pathlib, sys
bad = []
for h5 in pathlib.Path("published").rglob("*.h5"):
    with h5py.File(h5, "r") as f:
        m = f["model"].attrs
        loss = {"models": "bce", "weighted_loss_models": "weighted"}[h5.parent.name]
        if m["source"] != h5.with_suffix(".pth").name or m["loss"] != loss or len(f["model/params"]) < 3:
            bad.append(str(h5))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
  expect_status 0 "input/published.nml finds its model (--check)" -- \
    "$MPIEXEC" -n 1 "$INVRG" --check "$SOURCE_DIR/input/published.nml"

  INVRG_MODELS_URL=$unreachable expect_status 0 "again, without network: nothing to fetch" -- "$fetch"
  expect_grep out.txt "(0 downloaded, 26 already present), 0 converted" "a second run downloads and converts nothing"

  # A tampered local copy is fetched again; a tampered mirror copy is refused.
  local victim=weighted_loss_models/ising_upsampler3par_k3_ks3_learning_r0.01_L32_batch1000_setsize10000.pth
  mkdir -p bad && cp -r "$ref"/. bad/ && chmod -R u+w bad && printf 'x' >> "bad/$victim" && printf 'x' >> "published/$victim"
  INVRG_MODELS_URL=file://$workdir/bad expect_status 1 "a tampered copy: exit 1" -- "$fetch"
  expect_grep err.txt "published/$victim does not match its SHA-256 sum" "the tampered local file is noticed"
  expect_grep err.txt "error: $victim from file://$workdir/bad/$victim: SHA-256" "the tampered download is refused by name"
  expect_grep out.txt "25 of 26 models verified" "the other 25 stay verified"
  [ ! -e "published/$victim" ] && [ ! -e "published/${victim%.pth}.h5" ] \
    && pass "nothing left of the tampered file (.pth, .h5)" || fail "the tampered file or its .h5 is left"

  # Fixed through a repository whose files are in Git LFS: the pointer leads to the real file.
  mkdir -p lfs/weighted_loss_models
  printf 'version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n' > "lfs/$victim"
  INVRG_MODELS_URL=file://$workdir/lfs INVRG_MODELS_LFS_URL=file://$(cd "$ref" && pwd) \
    expect_status 0 "through a Git LFS pointer" -- "$fetch"
  expect_grep out.txt "26 of 26 models verified (1 downloaded, 25 already present), 1 converted" \
    "the missing file fetched from the LFS URL and converted"
}

case ${1:-} in
  offline) offline ;;
  published) published ;;
  *) echo "usage: $0 offline|published" >&2; exit 2 ;;
esac
finish
