#!/usr/bin/env python3
"""check_vector_state.py BINARY: no function of BINARY leaves 256- or 512-bit registers dirty.

After AVX code writes a ymm or zmm register, the upper halves stay "dirty" until a vzeroupper;
every legacy SSE instruction run meanwhile (the library's portable code is built without -mavx,
so its doubles and memcpy are SSE) pays a merge on Intel cores. The compiler owes a vzeroupper
before every call, tail call and return of a vector function, and GCC 12 leaves some out: a
called AVX-512 helper that took vectors as arguments, AVX2 kernels that end by calling their
portable tail. One such helper made a dream stage's small levels 1.5 times slower.

The disassembly (objdump -d) is read function by function, in address order:
  - a function that writes ymm or zmm registers and holds no vzeroupper at all is reported;
  - within a function, from a vector instruction to the next vzeroupper, a call, a return or a
    jump (conditional too) to another function is reported. A straight-line reading: after an
    unconditional jump or a return the next instruction starts clean, as it is reached from
    elsewhere, so a block placed after the return and reached from vector code by a jump is not
    followed (GCC 12's omissions this test was written for were all on straight lines).
Exit 0 if clean, 1 otherwise; 77 (skipped) where objdump is missing or BINARY is not x86-64.

check_vector_state.py --self-test: the checker on planted disassembly (must find what was
planted, and nothing in the clean functions).
"""
import re
import shutil
import subprocess
import sys

FUNCTION = re.compile(r"^[0-9a-f]+ <([^>]+)>:$")
INSTRUCTION = re.compile(r"^\s*[0-9a-f]+:\s+(\S+)\s*(.*)$")
VECTOR = re.compile(r"%[yz]mm\d+")
TARGET = re.compile(r"<([^+>]+)(\+0x[0-9a-f]+)?>")


def functions(disassembly):
    """(name, [(mnemonic, operands)]) for each function of objdump's text."""
    name, body = None, []
    for line in disassembly.splitlines():
        head = FUNCTION.match(line)
        if head:
            if name is not None:
                yield name, body
            name, body = head.group(1), []
            continue
        ins = INSTRUCTION.match(line)
        if name is not None and ins:
            body.append((ins.group(1), ins.group(2)))
    if name is not None:
        yield name, body


PREFIXES = ("repz", "rep", "bnd", "notrack")


def leaves(mnemonic, operands, name):
    """What the instruction does to control: 'call', 'ret', 'tail' (a jump, maybe conditional,
    to another function), 'jump' (an unconditional jump inside) or None."""
    while mnemonic in PREFIXES and operands:  # 'repz ret', 'bnd jmp', 'notrack jmp *%rax'
        mnemonic, _, operands = operands.partition(" ")
        operands = operands.strip()
    if mnemonic.startswith("call"):
        return "call"
    if mnemonic.startswith("ret"):
        return "ret"
    if mnemonic.startswith("j"):
        target = TARGET.search(operands)
        if target is None:
            return "tail"  # an indirect jump: a jump table or a tail call, judged as leaving
        if target.group(1) != name:
            return "tail"
        return "jump" if mnemonic.startswith("jmp") else None
    return None


def findings(disassembly):
    """Lines naming each function that leaves vector state dirty, and where."""
    found = []
    for name, body in functions(disassembly):
        vector = any(VECTOR.search(ops) for _, ops in body)
        if not vector:
            continue
        if not any(m.startswith("vzeroupper") or m.startswith("vzeroall") for m, _ in body):
            found.append(f"{name}: writes ymm/zmm registers and never runs vzeroupper")
            continue
        dirty = False
        for mnemonic, operands in body:
            if mnemonic.startswith("vzeroupper") or mnemonic.startswith("vzeroall"):
                dirty = False
                continue
            if VECTOR.search(operands):
                dirty = True
            how = leaves(mnemonic, operands, name)
            if how is None:
                continue
            if dirty and how in ("call", "ret", "tail"):
                found.append(f"{name}: {mnemonic} {operands}".rstrip() +
                             " with ymm/zmm registers dirty")
            if how in ("ret", "tail", "jump"):
                dirty = False
    return found


def self_test():
    planted = """
0000000000001000 <clean>:
    1000:	vpxor  %ymm0,%ymm0,%ymm0
    1004:	vmovdqu %ymm0,(%rdi)
    1008:	vzeroupper
    100b:	ret
0000000000001010 <sse_only>:
    1010:	movq   %rax,%xmm0
    1014:	ret
0000000000001020 <never_cleaned>:
    1020:	vmovdqu64 (%rdi),%zmm1
    1026:	vmovdqu64 %zmm1,(%rsi)
    102c:	ret
0000000000001030 <call_dirty>:
    1030:	vpaddq %ymm1,%ymm2,%ymm3
    1034:	call   2000 <portable_tail>
    1039:	vzeroupper
    103c:	ret
0000000000001040 <tail_dirty>:
    1040:	vzeroupper
    1043:	vpand  %ymm1,%ymm2,%ymm3
    1047:	jmp    2000 <portable_tail>
0000000000001048 <cond_tail_dirty>:
    1048:	vpand  %ymm1,%ymm2,%ymm3
    104c:	jne    2000 <portable_tail>
    104e:	vzeroupper
    1051:	repz ret
0000000000001050 <loop_then_clean>:
    1050:	vpand  %ymm1,%ymm2,%ymm3
    1054:	jmp    1050 <loop_then_clean>
    1056:	vzeroupper
    1059:	jmp    2000 <portable_tail>
"""
    got = findings(planted)
    expect = ["never_cleaned", "call_dirty", "tail_dirty", "cond_tail_dirty"]
    names = [line.split(":")[0] for line in got]
    if names != expect:
        print(f"check_vector_state self-test: found {got}, expected one finding each of {expect}")
        return 1
    print("check_vector_state self-test: the four planted functions found, the clean ones not")
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        print(__doc__.split("\n")[0], file=sys.stderr)
        return 2
    objdump = shutil.which("objdump")
    if objdump is None:
        print("check_vector_state: SKIPPED: objdump is not installed")
        return 77
    head = subprocess.run([objdump, "-f", argv[1]], capture_output=True, text=True)
    if head.returncode != 0:
        print(f"check_vector_state: cannot read {argv[1]}: {head.stderr.strip()}")
        return 1
    if "x86-64" not in head.stdout:
        print(f"check_vector_state: SKIPPED: {argv[1]} is not an x86-64 binary")
        return 77
    text = subprocess.run([objdump, "-d", "--no-show-raw-insn", argv[1]], capture_output=True,
                          text=True, check=True).stdout
    found = findings(text)
    for line in found:
        print(f"check_vector_state: {argv[1]}: {line}")
    checked = sum(1 for _, body in functions(text) if any(VECTOR.search(o) for _, o in body))
    print(f"check_vector_state: {checked} vector functions of {argv[1]}, "
          f"{len(found)} leaving ymm/zmm registers dirty")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
