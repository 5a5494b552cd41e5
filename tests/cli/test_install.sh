#!/usr/bin/env bash
# cmake --install into a temporary prefix P: the binary, the tools, the inputs, the job scripts
# and the documents land where the README says, and they work from there: P/bin/invrg runs a
# small input on one rank, P/share/invrg/tools/invrg_io.py reads its run file, the fetch
# script finds its sums and the converter beside itself, the job scripts find P/bin/invrg.
#   test_install.sh <build dir> <cmake>
source "$(dirname "$0")/lib.sh"
build_dir=$1 cmake=$2
P=$workdir/prefix

expect_status 0 "cmake --install --prefix P" -- "$cmake" --install "$build_dir" --prefix "$P"
for f in bin/invrg share/invrg/tools/report.py share/invrg/tools/invrg_io.py \
         share/invrg/tools/import_torch_model.py share/invrg/tools/show_config.py \
         share/invrg/tools/fetch_published_models.sh share/invrg/tools/published_models.sha256 share/invrg/tools/runfile_schema.json \
         share/invrg/input/default.nml share/invrg/input/published.nml \
         share/invrg/jobs/run.sbatch share/invrg/jobs/lib.sh share/invrg/jobs/site/generic.sh \
         share/doc/invrg/README.md share/doc/invrg/LICENSE share/doc/invrg/CITATION.cff; do
  [ -f "$P/$f" ] || fail "P/$f not installed"
done
for f in bin/invrg share/invrg/tools/invrg_io.py share/invrg/tools/fetch_published_models.sh \
         share/invrg/jobs/run.sbatch; do
  [ -x "$P/$f" ] || fail "P/$f not executable"
done
[ "$(find "$P/share/invrg/input" -name '*.nml' | wc -l)" -eq "$(find "$SOURCE_DIR/input" -name '*.nml' | wc -l)" ] \
  && pass "every input installed" || fail "inputs missing in P/share/invrg/input"
[ -d "$P/share/doc/invrg/docs" ] && pass "docs/ installed" || fail "P/share/doc/invrg/docs missing"
grep -q "GNU GENERAL PUBLIC LICENSE" "$P/share/doc/invrg/LICENSE" && pass "LICENSE is the GPL" \
  || fail "LICENSE is not the GPL"

expect_status 0 "P/bin/invrg --version" -- "$P/bin/invrg" --version
version=$(sed -n 's/^version: *//p' "$P/share/doc/invrg/CITATION.cff")
expect_grep out.txt "$version" "CITATION.cff's version ($version) is the program's"

cp "$SOURCE_DIR/tests/inputs/small_pipeline.nml" tiny.nml && sed -i "s/small.h5/tiny.h5/" tiny.nml
expect_status 0 "P/bin/invrg runs a small input on 1 rank" -- "$MPIEXEC" -n 1 "$P/bin/invrg" tiny.nml
expect_status 0 "P/share/invrg/tools/invrg_io.py reads the run file" -- \
  "$P/share/invrg/tools/invrg_io.py" tiny.h5
expect_grep out.txt "/dream: L = 4, 8, 16" "invrg_io.py lists the dreamed sizes"
expect_status 0 "the installed tools find the run-file schema" -- \
  "$PYTHON" -c "import sys; sys.path.insert(0, '$P/share/invrg/tools'); import invrg_io; invrg_io.schema()"
expect_status 0 "P/bin/invrg --check P/share/invrg/input/default.nml" -- \
  "$MPIEXEC" -n 1 "$P/bin/invrg" --check "$P/share/invrg/input/default.nml"
for tool in report.py show_config.py import_torch_model.py; do
  expect_status 0 "P/share/invrg/tools/$tool --help (imports found beside it)" -- \
    "$PYTHON" "$P/share/invrg/tools/$tool" --help
done

# The fetch script from the prefix: its sums and the converter are found beside it.
INVRG_MODELS_URL=http://127.0.0.1:9 expect_status 1 "P/…/fetch_published_models.sh without network" -- \
  "$P/share/invrg/tools/fetch_published_models.sh" models
expect_grep err.txt "cannot download http://127.0.0.1:9/models/" "it got as far as downloading"
if [ -n "${INVRG_PUBLISHED_MODELS_DIR:-}" ] && [ -d "$INVRG_PUBLISHED_MODELS_DIR/models" ]; then
  INVRG_MODELS_URL=file://$(cd "$INVRG_PUBLISHED_MODELS_DIR" && pwd) \
    expect_status 0 "P/…/fetch_published_models.sh from a mirror" -- \
    "$P/share/invrg/tools/fetch_published_models.sh" models
  expect_grep out.txt "26 of 26 models verified" "26 models verified and converted from the prefix"
else
  echo "skip: fetching from the prefix (INVRG_PUBLISHED_MODELS_DIR does not hold the published models)"
fi

# The job scripts' default binary is P/bin/invrg.
got=$(unset INVRG; INVRG_JOBS_DIR=$P/share/invrg/jobs INVRG_SITE=generic bash -c \
      'source "$INVRG_JOBS_DIR/lib.sh" && invrg_load_site && echo "$INVRG"')
[ "$got" = "$P/bin/invrg" ] && pass "jobs/ use P/bin/invrg" || fail "jobs/ use '$got', not P/bin/invrg"
finish
