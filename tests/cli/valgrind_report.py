#!/usr/bin/env python3
"""valgrind_report.py vg.txt BINARY: the memcheck findings that belong to invrg's own code.

A leak (definitely, indirectly or possibly lost) or an error (invalid read/write/free,
uninitialised value used, mismatched free) is invrg's when the first frame of its stack that
is not an allocator (malloc, calloc, realloc, aligned_alloc, posix_memalign, strdup, ...) lies
in BINARY: invrg allocated it, or invrg made the bad access. Everything else is what Open MPI,
PMIx, hwloc and HDF5 keep until exit (MPI_Finalize does not free it all); it is counted and
listed in a summary, not failed on. Exit 1 if invrg has any finding, else 0.
"""
import re
import sys

ALLOCATORS = re.compile(r": (malloc|calloc|realloc|aligned_alloc|posix_memalign|memalign|"
                        r"strdup|strndup|operator new|free|__libc_\w+|\w*v?asprintf\w*|"
                        r"open_memstream|getdelim|getline)\b")
KIND = re.compile(r"==\d+== (Invalid \w+|Conditional jump|Use of uninitialised|Mismatched free|"
                  r"Syscall param|Source and destination overlap|"
                  r"[\d,]+ (?:\([\d,]+ direct, [\d,]+ indirect\) )?bytes in [\d,]+ blocks are "
                  r"(?:definitely|indirectly|possibly) lost)")
FRAME = re.compile(r"==\d+==\s+(?:at|by) 0x[0-9A-F]+: (.*)")

text, binary = open(sys.argv[1]).read(), sys.argv[2]
records, current = [], None
for line in text.splitlines():
    m = KIND.match(line)
    if m:
        current = {"kind": m.group(1), "frames": []}
        records.append(current)
        continue
    f = FRAME.match(line)
    if f and current is not None:
        current["frames"].append(f.group(1))
    elif current is not None and current["frames"]:
        current = None  # the blank line after a stack ends the record


def owner(frames):
    for fr in frames:
        if ALLOCATORS.search(": " + fr):
            continue
        return "invrg" if f"(in {binary})" in fr or "/src/" in fr else fr.split(" (in ")[-1].rstrip(")")
    return "?"


mine = [r for r in records if owner(r["frames"]) == "invrg"]
others = {}
for r in records:
    if owner(r["frames"]) != "invrg":
        others[owner(r["frames"])] = others.get(owner(r["frames"]), 0) + 1
print(f"memcheck: {len(records)} findings; invrg's own: {len(mine)}")
for lib, n in sorted(others.items(), key=lambda kv: -kv[1]):
    print(f"  not invrg's: {n:4d} in {lib}")
for r in mine:
    print("INVRG:", r["kind"])
    for fr in r["frames"][:12]:
        print("    ", fr)
sys.exit(1 if mine or not records and "ERROR SUMMARY" not in text else 0)
