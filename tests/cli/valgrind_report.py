#!/usr/bin/env python3
"""valgrind_report.py vg.txt BINARY [SOURCE_DIR]: the memcheck findings of invrg's own code.

A leak (definitely, indirectly or possibly lost) or an error (invalid read/write/free,
uninitialised value used, mismatched free, overlapping copy, bad syscall argument) is invrg's
when the first frame of its stack that is neither an allocator (malloc, calloc, realloc, ...) nor
one of valgrind's or libc's memory and string functions (memcpy, memset, strlen, ...: invrg called
them with the bad pointer) lies in invrg: in BINARY ("(in BINARY)", a build without debug
information) or in one of the project's source files ("(lattice.c:45)", a -g build; the files
are those under SOURCE_DIR, default the tree this script is in). Everything else is what Open
MPI, PMIx, hwloc and HDF5 keep until exit (MPI_Finalize does not free it all); it is counted and
listed in a summary, not failed on. Exit 1 if invrg has any finding, else 0.
"""
import os
import re
import sys

ALLOCATORS = re.compile(r": (malloc|calloc|realloc|aligned_alloc|posix_memalign|memalign|"
                        r"strdup|strndup|operator new|free|__libc_\w+|\w*v?asprintf\w*|"
                        r"open_memstream|getdelim|getline)\b")
# Memory and string functions that only carry out what their caller asked for.
PASSTHROUGH = re.compile(r": (__)?(mem\w*|str\w*|stp\w*|wcs\w*|bcopy|bzero)\b")
KIND = re.compile(r"==\d+== (Invalid \w+|Conditional jump|Use of uninitialised|Mismatched free|"
                  r"Syscall param|Source and destination overlap|"
                  r"[\d,]+ (?:\([\d,]+ direct, [\d,]+ indirect\) )?bytes in [\d,]+ blocks are "
                  r"(?:definitely|indirectly|possibly) lost)")
FRAME = re.compile(r"==\d+==\s+(?:at|by) 0x[0-9A-Fa-f]+: (.*)")
SOURCE_LOCATION = re.compile(r"\(([\w.+-]+\.(?:c|h)):\d+\)\s*$")


def project_files(root):
    names = set()
    for top in ("src", "include", "tests", "bench", "fuzz"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            names.update(f for f in files if f.endswith((".c", ".h")))
    return names


text, binary = open(sys.argv[1]).read(), sys.argv[2]
root = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
own_files = project_files(root)
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
        if ALLOCATORS.search(": " + fr) or PASSTHROUGH.search(": " + fr):
            continue
        located = SOURCE_LOCATION.search(fr)
        if f"(in {binary})" in fr or (located and located.group(1) in own_files):
            return "invrg"
        return located.group(1) if located else fr.split(" (in ")[-1].rstrip(")")
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
