#!/usr/bin/env bash
# Every Monte Carlo algorithm against the exact torus (tests/tools/kaufman.py, independent of
# invrg's own oracle) at sizes that are and are not powers of two, L = 6, 12, 24, 32, on 1 rank and on
# 2 ranks (Wolff: chains over 2 groups; the others: one lattice split over a grid); and the
# multispin sweeps of packed lattices at L = 16 and 64. One
# family-wise threshold for all comparisons, and error bars small enough to catch a slip of
# about 0.005 in E/N (a wrong neighbour at the wrap shifts it by 0.01 at L = 24).
source "$(dirname "$0")/lib.sh"
oracle="$SOURCE_DIR/tests/tools/kaufman.py"

expect_status 0 "the test's own oracle against enumeration of 3x3 and 4x4" -- "$PYTHON" "$oracle" selftest
cat out.txt

sizes="L = 6, 12, 24, 32"
seed=100
run() { # run <name> <ranks> <mc keys> [<parallel keys>]; fixed seeds: the same verdict every time
  seed=$((seed + 1))
  printf "&run stages = 'mc', output = '%s.h5', seed = %d, log_level = 'warn' /\n&mc %s, n_chains = 4, n_therm = 500, %s /\n&analyze correlations = F /\n%s\n" \
    "$1" "$seed" "${sizes_of_run:-$sizes}" "$3" "${4:-}" > "$1.nml"
  expect_status 0 "$1 ($2 rank(s))" -- "$MPIEXEC" -n "$2" "$INVRG" "$1.nml"
}
cluster="n_samples = 6000, sample_every = 2"
local="n_samples = 6000, sample_every = 10"
run wolff_1 1 "algorithm = 'wolff', $cluster"
run wolff_2 2 "algorithm = 'wolff', $cluster"
run sw_1 1 "algorithm = 'sw', $cluster"
run sw_2 2 "algorithm = 'sw', $cluster" "&parallel ranks_per_group = 2, grid = 1, 2 /"
run metropolis_1 1 "algorithm = 'metropolis', $local"
run metropolis_2 2 "algorithm = 'metropolis', $local" "&parallel ranks_per_group = 2, grid = 2, 1 /"
run heatbath_1 1 "algorithm = 'heatbath', $local"
run heatbath_2 2 "algorithm = 'heatbath', $local" "&parallel ranks_per_group = 2, grid = 1, 2 /"

# alpha = 0.002 over 64 comparisons: 4.16 sigma. With these samples the E/N errors are at most
# about 0.0046 (L = 6) and 0.0021 (L >= 24), so the wrong-neighbour slip (+0.01 at L = 24) lands
# about 5 sigma out; the check also asks every E/N error to stay below 0.005.
expect_status 0 "E/N and C/N of every algorithm and size against the exact torus" -- \
  "$PYTHON" "$oracle" check 0.002 0.005 ./*.h5
cat out.txt

# The multispin sweeps of a packed lattice (&mc lattice = 'packed') at K_c, L = 16 and 64:
# Metropolis on 1 rank, heat bath on a group of 2 (rows split), in a family of their own: alpha
# = 0.02 over their 8 comparisons is 3.02 sigma.
mkdir -p packed && cd packed || exit 1
sizes_of_run="L = 16, 64"
run metropolis_packed 1 "algorithm = 'metropolis', lattice = 'packed', $local"
run heatbath_packed 2 "algorithm = 'heatbath', lattice = 'packed', $local" "&parallel ranks_per_group = 2, grid = 2, 1 /"
expect_status 0 "E/N and C/N of the packed multispin sweeps at L = 16 and 64 against the exact torus" -- \
  "$PYTHON" "$oracle" check 0.02 0.005 ./*.h5
cat out.txt
cd .. || exit 1
finish
