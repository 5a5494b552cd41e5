#!/usr/bin/env bash
# Downloads the 26 models released with the paper (arXiv:2506.04016; the authors' repository
# github.com/adam-rancon/upscaling_Ising at the release commit, GPL-3.0), verifies each against
# the SHA-256 sums shipped beside this script (published_models.sha256) and converts them into
# invrg model files with import_torch_model.py (also beside this script):
#
#   tools/fetch_published_models.sh [DIR]          DIR: default ./published
#
# gives DIR/models/*.pth and *.h5 (trained with binary cross-entropy) and
# DIR/weighted_loss_models/*.pth and *.h5 (weighted loss), the paths input/published.nml uses.
# Idempotent: a file already present and verified is not downloaded again, and its .h5 is
# converted again only when older than the .pth. Files got by hand (e.g. from a clone of the
# authors' repository) can be put in DIR/models and DIR/weighted_loss_models: they are then only
# verified and converted.
#
# Environment:
#   INVRG_MODELS_URL      base URL of the files, <base>/models/<name>.pth (default: the release
#                         commit on raw.githubusercontent.com); file:///path for a local copy
#   INVRG_MODELS_LFS_URL  where to fetch a file that arrives as a Git LFS pointer (default: the
#                         release commit on media.githubusercontent.com)
#   PYTHON                a Python 3 with numpy and h5py (default /usr/bin/python3)
# Exit status: 0 all 26 verified and converted; 1 a download, a verification or a conversion
# failed (each named; nothing is converted from a file that does not verify); 2 bad usage.
set -euo pipefail

me=fetch_published_models
here=$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")" && pwd)
sums=$here/published_models.sha256
importer=$here/import_torch_model.py
repo=https://github.com/adam-rancon/upscaling_Ising
commit=9db43243b96dc5452cd2e7b2e530d12d1156f2e5
base=${INVRG_MODELS_URL:-https://raw.githubusercontent.com/adam-rancon/upscaling_Ising/$commit}
lfs_base=${INVRG_MODELS_LFS_URL:-https://media.githubusercontent.com/media/adam-rancon/upscaling_Ising/$commit}
base=${base%/} lfs_base=${lfs_base%/}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
case ${1:-} in
  -h|--help) usage; exit 0 ;;
  -*) echo "$me: error: unknown option '$1'" >&2; usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "$me: error: at most one argument (DIR)" >&2; exit 2; }
dir=${1:-published}

python=${PYTHON:-/usr/bin/python3}
[ -x "$python" ] || python=$(command -v python3 || true)
for f in "$sums" "$importer"; do
  [ -f "$f" ] || { echo "$me: error: $f is missing (it belongs beside this script)" >&2; exit 1; }
done
[ -n "$python" ] || { echo "$me: error: no python3 found (set PYTHON)" >&2; exit 1; }

sha256() {
  if command -v sha256sum > /dev/null; then sha256sum -- "$1" | cut -d' ' -f1
  else shasum -a 256 -- "$1" | cut -d' ' -f1; fi
}

# fetch URL FILE: downloads with curl (or Python's urllib); on failure, the reason is in fetch_error.
fetch_error=
fetch() {
  if command -v curl > /dev/null; then
    fetch_error=$(curl --fail --silent --show-error --location --connect-timeout 30 --retry 2 \
                       --output "$2" -- "$1" 2>&1) && return 0
  else
    fetch_error=$("$python" -c 'import sys, urllib.request
try:
    urllib.request.urlretrieve(sys.argv[1], sys.argv[2])
except Exception as e:
    sys.exit(str(e))' "$1" "$2" 2>&1) && return 0
  fi
  fetch_error=${fetch_error##*$'\n'}   # curl repeats the message at each retry
  rm -f -- "$2"
  return 1
}

cannot_download() { # url: the network (or the mirror) is not there; say how to do without
  cat >&2 <<EOF
$me: error: cannot download $1
  ${fetch_error:-download failed}
Without network access, get the files by hand: on a machine with network,
  git clone $repo && git -C upscaling_Ising checkout $commit
(or the repository's page, folders models/ and weighted_loss_models/), then either copy the two
folders into $dir/ and run this script again (it verifies and converts files already present), or
point it at the copy:
  INVRG_MODELS_URL=file:///path/to/upscaling_Ising $0 $dir
EOF
  exit 1
}

mkdir -p -- "$dir"
n_present=0 n_fetched=0 n_converted=0
verified=() refused=()
while read -r sum path; do
  case $sum in ''|'#'*) continue ;; esac
  file=$dir/$path
  if [ -f "$file" ]; then
    if [ "$(sha256 "$file")" = "$sum" ]; then
      verified+=("$path") n_present=$((n_present + 1))
      continue
    fi
    echo "$me: $file does not match its SHA-256 sum: downloading it again" >&2
  fi
  mkdir -p -- "$(dirname -- "$file")"
  url=$base/$path
  fetch "$url" "$file.part" || cannot_download "$url"
  if head -c 64 -- "$file.part" | grep -q '^version https://git-lfs'; then
    url=$lfs_base/$path   # the repository stores the file in Git LFS: this is only its pointer
    fetch "$url" "$file.part" || cannot_download "$url"
  fi
  got=$(sha256 "$file.part")
  if [ "$got" != "$sum" ]; then
    echo "$me: error: $path from $url: SHA-256 $got, expected $sum: refused, not converted" >&2
    rm -f -- "$file.part" "$file" "${file%.pth}.h5"
    refused+=("$path")
    continue
  fi
  mv -f -- "$file.part" "$file"
  verified+=("$path") n_fetched=$((n_fetched + 1))
done < "$sums"

failed=()
for path in "${verified[@]}"; do
  file=$dir/$path h5=$dir/${path%.pth}.h5
  [ -f "$h5" ] && [ ! "$file" -nt "$h5" ] && continue
  if "$python" "$importer" "$file" -o "$h5" --force > /dev/null; then
    n_converted=$((n_converted + 1))
  else
    echo "$me: error: converting $file failed" >&2
    rm -f -- "$h5"
    failed+=("$path")
  fi
done

echo "$me: ${#verified[@]} of $((${#verified[@]} + ${#refused[@]})) models verified ($n_fetched" \
     "downloaded, $n_present already present), $n_converted converted: $dir/models/*.h5," \
     "$dir/weighted_loss_models/*.h5"
if [ ${#refused[@]} -gt 0 ] || [ ${#failed[@]} -gt 0 ]; then
  [ ${#refused[@]} -eq 0 ] || echo "$me: error: did not verify (not converted): ${refused[*]}" >&2
  [ ${#failed[@]} -eq 0 ] || echo "$me: error: conversion failed: ${failed[*]}" >&2
  exit 1
fi
