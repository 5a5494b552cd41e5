#!/usr/bin/env bash
# Regenerates the two pictures of README.md (docs/*.png): a run of the published 3-parameter
# model (dreamed to 256 x 256) next to Monte Carlo at L = 8 ... 64, through tools/report.py.
# About 15 s on 2 ranks. Usage: tools/make_docs.sh   (after tools/setup.sh)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$here/tools/env.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > dream.nml <<'NML'
&run stages = 'dream', output = 'dream.h5', seed = 4096, title = 'dream: published sym3' /
&dream model = 'sym3', params = 0.54590, 0.62776, 1.40962, levels = 8, n_samples = 4000,
       measure_from = 3, save_levels = 8, save_max = 4 /
&analyze operators = 'swendsen', mcrg_levels = 4, jackknife_blocks = 20 /
NML
cat > mc.nml <<'NML'
&run stages = 'mc', output = 'mc.h5', seed = 64, title = 'Monte Carlo (Wolff)' /
&mc L = 8, 16, 32, 64, algorithm = 'wolff', n_chains = 8, n_therm = 500, n_samples = 1000,
    sample_every = 4 /
NML
mpirun -n 2 "$here/build/invrg" dream.nml > dream.log
mpirun -n 2 "$here/build/invrg" mc.nml > mc.log
/usr/bin/python3 "$here/tools/report.py" mc.h5 dream.h5 -o report > report.log
mkdir -p "$here/docs"
/usr/bin/python3 - "$work/report" "$here/docs" <<'PY'
import sys
from PIL import Image  # python3-pil comes with python3-matplotlib
src, dst = sys.argv[1], sys.argv[2]
for name, out in (("configs_1.png", "dreamed.png"), ("fss_chi.png", "chi.png")):
    img = Image.open(f"{src}/{name}").convert("RGB")
    w, h = img.size
    img.resize((w * 3 // 5, h * 3 // 5), Image.LANCZOS).save(f"{dst}/{out}", optimize=True)
PY
ls -la "$here/docs"
