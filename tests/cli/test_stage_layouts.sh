#!/usr/bin/env bash
# Groups per stage: the whole pipeline mc (Wolff) → train → dream → analyze in one job, each
# stage on its own groups (Wolff on groups of one, a dream shared by groups of many, chosen by
# hand or automatically), gives the run file of one rank bit for bit; and bad layouts are
# refused up front, naming the key.
# Usage: test_stage_layouts.sh [ranks...] (default 4; the many-rank test runs 16 and 64
# ranks, oversubscribed).
source "$(dirname "$0")/lib.sh"
ranks=("${@:-4}")

pipeline_input() { # pipeline_input <file> <output> [&parallel keys]
  cat > "$1" <<NML
&run stages = 'mc', 'train', 'dream', 'analyze', output = '$2', seed = 5, log_level = 'info' /
&mc L = 8, 16, algorithm = 'wolff', n_chains = 2, n_therm = 20, n_samples = 60,
    sample_every = 1, blocks_per_chain = 2, save_configs = T /
&train epochs = 2, batch = 40, n_replicas = 2, data_L = 16 /
&dream levels = 10, n_samples = 4, measure_from = 8, save_levels = 4, 5, save_max = 4 /
&analyze operators = 'swendsen', jackknife_blocks = 4, mcrg_levels = 2 /
&parallel ${3:-} /
NML
}

same_as_one_rank() { # same_as_one_rank <run file> <what>
  # the output's name differs, and with it the name of the file stage analyze read (this run's)
  "$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" one.h5 "$1" > cmp.txt 2>&1
  "$PYTHON" -c "
import ast, sys
line = open('cmp.txt').read().strip().splitlines()[-1]
differ = ast.literal_eval(line.split('differ: ', 1)[1]) if 'differ: ' in line else []
names = {'config/run@output', 'analyze@data'} | {f'analyze/{s}/L{L}@data' for s in ('mc', 'dream') for L in (8, 16, 32)}
sys.exit(0 if differ and set(differ) <= names else 1)" \
    && pass "$2 equals 1 rank bit for bit but for the output's name ($(tail -1 cmp.txt | cut -c1-60))" \
    || { fail "$2 differs from 1 rank"; cat cmp.txt; }
}

expect_layout() { # expect_layout <log> <stage> <text> <what>
  expect_grep "$1" "stage $2: $3" "$4"
}

pipeline_input one.nml one.h5
expect_status 0 "the pipeline on 1 rank" -- "$INVRG" one.nml

for n in "${ranks[@]}"; do
  # automatic groups: Wolff chains on one rank each, the 4 dreams of 1024² on groups of n/4
  # ranks (no idle group; at least 2^16 sites per rank), train and analyze on groups of one
  pipeline_input auto$n.nml auto$n.h5
  expect_status 0 "--check --ranks $n plans the automatic layouts" -- "$INVRG" --check --ranks $n auto$n.nml
  expect_layout out.txt mc "$n groups of 1 rank, grid 1 x 1 (chosen automatically)" \
    "$n ranks: Wolff chains on groups of one"
  expect_layout out.txt dream "4 groups of $((n / 4)) rank" \
    "$n ranks: the 4 dreams on 4 groups of $((n / 4))"
  expect_status 0 "the pipeline on $n ranks, automatic groups" -- "$MPIEXEC" -n $n "$INVRG" auto$n.nml
  same_as_one_rank auto$n.h5 "$n ranks, automatic groups:"
  "$PYTHON" -c "
import h5py, sys
r = h5py.File('auto$n.h5', 'r')['run'].attrs
ok = list(r['ranks_per_group']) == [1, 1, $n // 4, 1] and r['grid'].shape == (4, 2)
print('ok' if ok else 'FAIL', ': /run ranks_per_group', list(r['ranks_per_group']), 'grid', r['grid'].tolist())
sys.exit(0 if ok else 1)" && pass "$n ranks: /run records each stage's groups" \
    || fail "$n ranks: /run ranks_per_group"

  # groups set by hand for two stages, the rest from &parallel ranks_per_group = 1
  half=$((n / 2))
  pipeline_input set$n.nml set$n.h5 \
    "ranks_per_group = 1, dream_ranks_per_group = $n, dream_grid = 2, $half, analyze_ranks_per_group = 2"
  expect_status 0 "the pipeline on $n ranks: one dream group of $n (2 x $half), analyze in pairs" \
    -- "$MPIEXEC" -n $n "$INVRG" set$n.nml
  grep -F "parallel:" out.txt > layouts.txt
  expect_grep layouts.txt "1 group of $n ranks, grid 2 x $half" "$n ranks: the dream's group as set"
  expect_grep layouts.txt "$half groups of 2 ranks" "$n ranks: analyze's groups as set"
  same_as_one_rank set$n.h5 "$n ranks, groups set per stage:"
done

# Bad layouts: refused before any work, naming the key and its line; &parallel ranks_per_group
# forced on every stage still refuses Wolff on groups of 4, but the stage's own key fixes it.
n=${ranks[0]}
pipeline_input bad.nml bad.h5 "dream_ranks_per_group = 3, analyze_grid = 3, 1, train_ranks_per_group = 2, train_grid = 2, 2"
expect_status 2 "bad per-stage layouts refused" -- "$INVRG" --check --ranks 4 bad.nml
expect_grep err.txt "bad.nml:7:" "errors name the line of &parallel"
expect_grep err.txt "dream_ranks_per_group = 3 does not divide the 4 ranks of this run" \
  "a stage's group size that does not divide the ranks"
expect_grep err.txt "analyze_grid = 3, 1 makes groups of 3 ranks, which do not divide the 4 ranks" \
  "a stage's grid that fits no group size"
expect_grep err.txt "train_grid = 2, 2 has 4 ranks but a group has train_ranks_per_group = 2" \
  "a stage's grid that does not match its group size"
expect_grep err.txt "3 errors" "every error reported at once"
pipeline_input forced.nml forced.h5 "ranks_per_group = 4"
expect_status 2 "&parallel ranks_per_group = 4 with Wolff refused" -- "$INVRG" --check --ranks 4 forced.nml
expect_grep err.txt "'wolff' runs each chain on one rank" "Wolff on groups of 4 explained"
printf "&run stages = 'mc', output = 'grid.h5' /\n&parallel grid = 2, 2 /\n" > grid.nml
expect_status 2 "Wolff (the default algorithm) on a grid of 4 refused" -- "$INVRG" --check --ranks 8 grid.nml
expect_grep err.txt "grid.nml:2:11: error: 'wolff' runs each chain on one rank" \
  "named at the grid the input set, not without a place (the algorithm is the default)"
pipeline_input fixed.nml fixed.h5 "ranks_per_group = 4, mc_ranks_per_group = 1"
expect_status 0 "mc_ranks_per_group = 1 lets Wolff run beside groups of 4" -- "$INVRG" --check --ranks 4 fixed.nml
# a dream too big for any group of the run: its memory error is reported for the largest groups,
# and a warning says so; an input error that no layout changes is reported once, no warning
printf "&run stages = 'dream', output = 'big.h5' /\n&dream model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 20, measure_from = 20 /\n&parallel memory_per_rank = 0.1 /\n" > big.nml
expect_status 2 "a 2^20 dream in 0.1 GiB per rank refused" -- "$INVRG" --check --ranks 64 big.nml
expect_grep err.txt "warning: stage dream: no group size passes its checks; they are reported for groups of 64 ranks" \
  "the memory error is reported for groups of 64, and said so"
expect_grep err.txt "big.nml: 1 error" "the error once"
sed -i 's/levels = 20, measure_from = 20/levels = 5, measure_from = 6/' big.nml
expect_status 2 "a layout-independent error" -- "$INVRG" --check --ranks 64 big.nml
if grep -q "warning: stage dream" err.txt; then fail "a layout-independent error warned about layouts"; cat err.txt
else pass "a layout-independent error: no warning about layouts"; fi
# the same when the sizes that keep ranks busy (groups of 2 and 4 for 2 dreams of 512²) are
# tried before groups of one
sed -i 's/levels = 5, measure_from = 6/levels = 9, measure_from = 10, n_samples = 2/' big.nml
expect_status 2 "a layout-independent error, 2 dreams on 4 ranks" -- "$INVRG" --check --ranks 4 big.nml
if grep -q "warning: stage dream" err.txt; then fail "a layout-independent error warned about layouts (2 dreams)"; cat err.txt
else pass "a layout-independent error, 2 dreams: no warning about layouts"; fi
# int8 levels a group's grid cannot split are whole on every rank, and budgeted so: 12 dreams of
# 16384² with SW at the top (3.6 GiB on one rank) in 1.5 GiB per rank on 12 ranks take groups
# of 4 (2 x 2), not of 3 (1 x 3)
printf "&run stages = 'dream', output = 'x.h5' /\n&dream model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 14, n_samples = 12, top_sw_sweeps = 1 /\n&parallel memory_per_rank = 1.5 /\n" > whole.nml
expect_status 0 "12 dreams of 16384² planned on 12 ranks" -- "$INVRG" --check --ranks 12 whole.nml
expect_layout out.txt dream "3 groups of 4 ranks, grid 2 x 2" "groups of 4, whose grid splits the levels"
# small lattices are not shared to keep ranks busy: 2 chains of 64² on 16 ranks, groups of one
printf "&run stages = 'mc', output = 'small.h5' /\n&mc L = 64, n_chains = 2, algorithm = 'metropolis' /\n" > small.nml
expect_status 0 "2 chains of 64² planned on 16 ranks" -- "$INVRG" --check --ranks 16 small.nml
expect_layout out.txt mc "16 groups of 1 rank" "a 64² lattice is not shared by 8 ranks to keep them busy"
printf "&run stages = 'mc', output = 'unused.h5' /\n&mc L = 8 /\n&parallel dream_ranks_per_group = 2 /\n" > unused.nml
expect_status 0 "a layout for a stage the run does not have" -- "$INVRG" --check unused.nml
expect_grep err.txt "warning: &run stages has no stage dream: its layout is not used" \
  "a layout for a missing stage warned about"

# File layout for parallel file systems: a big dream's configurations written by one collective
# write of the group that spans all ranks, datasets aligned, MPI-IO hints passed: the same
# bits as independent writes on 1 rank, and the configurations start on the alignment.
big_input() { # big_input <file> <output> [&output keys]
  printf "&run stages = 'dream', output = '%s', seed = 3, log_level = 'warn' /\n&dream model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 8, n_samples = 2, measure_from = 8, save_levels = 7, 8, lattice = '%s' /\n&output %s /\n&parallel dream_ranks_per_group = %s /\n" \
    "$2" "$3" "${5:-}" "$4" > "$1"
}
for lattice in int8 packed; do
  big_input io1_$lattice.nml io1_$lattice.h5 $lattice 1
  expect_status 0 "a $lattice 256² dream saved on 1 rank" -- "$INVRG" io1_$lattice.nml
  big_input io2_$lattice.nml io2_$lattice.h5 $lattice $n \
    "collective_writes = T, alignment = 65536, mpi_io_hints = 'romio_cb_write=enable', 'cb_buffer_size=1048576'"
  expect_status 0 "the same on one group of $n ranks, collective writes, aligned" -- "$MPIEXEC" -n $n "$INVRG" io2_$lattice.nml
  "$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" io1_$lattice.h5 io2_$lattice.h5 > cmp.txt 2>&1
  "$PYTHON" -c "
import ast, h5py, sys
line = open('cmp.txt').read().strip().splitlines()[-1]
differ = set(ast.literal_eval(line.split('differ: ', 1)[1])) if 'differ: ' in line else set()
keys = {'config/run@output'} | {f'config/output@{k}' for k in ('collective_writes', 'alignment', 'mpi_io_hints')}
f = h5py.File('io2_$lattice.h5', 'r')
offsets = [f['dream/L256/configs'].id.get_offset()]  # 128 KiB; L128's 32 KiB: below the threshold
ok = differ == keys and all(o % 65536 == 0 for o in offsets)
print('ok' if ok else 'FAIL', ': differ', sorted(differ), 'configs at', offsets)
sys.exit(0 if ok else 1)" \
    && pass "$lattice: collective writes give the bits of 1 rank; configurations aligned to 64 KiB" \
    || { fail "$lattice: collective or aligned writes"; cat cmp.txt; }
  # configurations (stored int8) in chunks of whole rows (65536 bytes: the 256 rows of 256 bytes
  # of 256², 128 rows of 128² padded to one chunk), written by the ranks of a group of $n
  big_input io3_$lattice.nml io3_$lattice.h5 $lattice $n "chunk_bytes = 65536"
  expect_status 0 "the same on one group of $n ranks, chunked" -- "$MPIEXEC" -n $n "$INVRG" io3_$lattice.nml
  "$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" io1_$lattice.h5 io3_$lattice.h5 > cmp.txt 2>&1
  "$PYTHON" -c "
import ast, h5py, sys
line = open('cmp.txt').read().strip().splitlines()[-1]
differ = set(ast.literal_eval(line.split('differ: ', 1)[1])) if 'differ: ' in line else set()
chunks = h5py.File('io3_$lattice.h5', 'r')['dream/L256/configs'].chunks
want = (1, 256, 256)
ok = differ == {'config/run@output', 'config/output@chunk_bytes'} and chunks == want
print('ok' if ok else 'FAIL', ': differ', sorted(differ), 'chunks', chunks)
sys.exit(0 if ok else 1)" \
    && pass "$lattice: chunked configurations give the bits of 1 rank, chunks of whole rows" \
    || { fail "$lattice: chunked writes"; cat cmp.txt; }
done
finish
