#!/usr/bin/env bash
# tests/cli/valgrind_report.py on planted memcheck records of every format it must read: a leak
# allocated by invrg (build without debug information, and -g), an invalid write by invrg
# through memset (valgrind's replacement and libc's), an uninitialised value in a -g frame,
# and records of MPI's own that are not invrg's. Each planted finding of invrg must be reported.
source "$(dirname "$0")/lib.sh"
report() { "$PYTHON" "$SOURCE_DIR/tests/cli/valgrind_report.py" "$1" /opt/invrg/bin/invrg "$SOURCE_DIR"; }
vg=/usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so
libc=/usr/lib/x86_64-linux-gnu/libc.so.6
mpi=/usr/lib/x86_64-linux-gnu/libmpi.so.40
record() { # record <file> <kind line> <frame>...: one record and the summary line
  local file=$1 kind=$2
  shift 2
  { echo "==7== $kind"; for f in "$@"; do echo "==7==    by 0x4A3B2C1: $f"; done; echo "==7== "
    echo "==7== ERROR SUMMARY: 1 errors from 1 contexts"; } > "$file"
}
leak="64 bytes in 1 blocks are definitely lost in loss record 1 of 1"
record leak_plain.txt "$leak" "malloc (in $vg)" "invrg_lattice_create_replicated (in /opt/invrg/bin/invrg)" "main (in /opt/invrg/bin/invrg)"
record leak_g.txt "$leak" "calloc (vg_replace_malloc.c:1340)" "invrg_lattice_create_replicated (lattice.c:61)" "main (main.c:40)"
record memset_vg.txt "Invalid write of size 8" "memset (vg_replace_strmem.c:1390)" "invrg_mcrg_operator_sums (mcrg_operators.c:120)" "main (main.c:40)"
record memcpy_libc.txt "Invalid read of size 4" "__memcpy_avx_unaligned_erms (in $libc)" "invrg_blockspin_apply (in /opt/invrg/bin/invrg)"
record uninit_g.txt "Conditional jump or move depends on uninitialised value(s)" "invrg_observables_primaries (observables.c:80)" "main (main.c:40)"
record overlap.txt "Source and destination overlap in memcpy(0x1, 0x2, 16)" "memcpy@@GLIBC_2.14 (vg_replace_strmem.c:1123)" "invrg_text_read_file (text.c:30)"
for f in leak_plain leak_g memset_vg memcpy_libc uninit_g overlap; do
  expect_status 1 "$f: reported as invrg's" -- report "$f.txt"
  expect_grep out.txt "invrg's own: 1" "$f: counted once"
done
record mpi_leak.txt "$leak" "malloc (in $vg)" "opal_malloc (in /usr/lib/x86_64-linux-gnu/libopen-pal.so.40)" "ompi_mpi_init (in $mpi)" "PMPI_Init (in $mpi)" "main (main.c:40)"
record mpi_memset.txt "Syscall param writev(vector[...]) points to uninitialised byte(s)" "writev (in $libc)" "mca_btl_tcp_send (in /usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3/mca_btl_tcp.so)"
for f in mpi_leak mpi_memset; do
  expect_status 0 "$f: not invrg's" -- report "$f.txt"
  expect_grep out.txt "invrg's own: 0" "$f: listed, not failed on"
done
finish
