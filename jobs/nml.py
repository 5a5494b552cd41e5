#!/usr/bin/python3
"""Reads and edits invrg namelist inputs for the job scripts (no dependencies but Python 3).

    nml.py get INPUT GROUP KEY          print a key's value (strings unquoted); exit 1 if unset;
                                        INPUT - reads standard input
    nml.py set INPUT OUT group.key=value ...
                                        copy INPUT to OUT (- = stdout) with the assignments
                                        applied: an existing assignment is replaced in place,
                                        a missing key is added before its group's '/', a missing
                                        group is appended; values are namelist text ('x.h5', 16,
                                        8, 16, .true.); a later assignment of a key wins
    nml.py rows TABLE                   print the number of tasks in an ensemble table
    nml.py row TABLE N                  print task N's assignments (N = 1, 2, ...), one per line

The scanner follows invrg's reader (src/core/namelist.c): '!' comments, '...' and "..."
strings with doubled quotes, '/' or &end closing a group, names case-insensitive. It does not
check values: invrg does that when it reads the file.

Ensemble table: '#' starts a comment (outside quotes); the first line names the columns as
group.key, every further line is one task; fields are separated by blanks, so a value with
blanks must be quoted ('mc', 'train' as 'mc','train'). Example:

    # mc.L   mc.beta
    mc.L     mc.beta
    16       0.4406868
    32       0.4406868

Exit status: 0 success, 1 key not set (get), 2 bad arguments or unreadable input.
"""
import os
import re
import sys

PROG = "nml.py"


class UserError(Exception):
    pass


def scan(text):
    """Tokens (kind, value, start, end) with kind in group, end, eq, comma, word, string."""
    tokens, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "!":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "'\"":
            j = i + 1
            while True:
                if j >= n or text[j] == "\n":
                    raise UserError("missing terminating %s character" % c)
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            tokens.append(("string", text[i + 1:j].replace(c + c, c), i, j + 1))
            i = j + 1
        elif c in "/=,":
            kind = {"/": "end", "=": "eq", ",": "comma"}[c]
            tokens.append((kind, c, i, i + 1))
            i += 1
        else:
            j = i + 1 if c == "&" else i
            while j < n and not (text[j].isspace() or text[j] in ",=/!'\"&"):
                j += 1
            word = text[i:j]
            if c == "&":
                kind = "end" if word[1:].lower() == "end" else "group"
                tokens.append((kind, word[1:].lower(), i, j))
            else:
                tokens.append(("word", word, i, j))
            i = j
    return tokens


def parse(text):
    """{group: {"open": token, "close": token, "keys": {key: (start, end, values)}}}."""
    toks = scan(text)
    groups, k = {}, 0
    while k < len(toks):
        kind, value, start, _ = toks[k]
        if kind != "group":
            raise UserError("expected a group such as '&run' at offset %d" % start)
        if value in groups:
            raise UserError("group '&%s' appears twice" % value)
        g = {"open": toks[k], "close": None, "keys": {}}
        groups[value] = g
        k += 1
        while k < len(toks) and toks[k][0] not in ("end", "group"):
            if not (toks[k][0] == "word" and k + 1 < len(toks) and toks[k + 1][0] == "eq"):
                raise UserError("expected 'key = value' in group '&%s'" % value)
            key, kstart = toks[k][1].lower(), toks[k][2]
            k += 2
            values, vend = [], toks[k - 1][3]
            while k < len(toks) and toks[k][0] not in ("end", "group") and not (
                    toks[k][0] == "word" and k + 1 < len(toks) and toks[k + 1][0] == "eq"):
                if toks[k][0] in ("word", "string"):
                    values.append(toks[k])
                vend = toks[k][3]
                k += 1
            g["keys"][key] = (kstart, vend, values)
        if k >= len(toks) or toks[k][0] != "end":
            raise UserError("group '&%s' is not closed with '/'" % value)
        g["close"] = toks[k]
        k += 1
    return groups


def split_assignment(a):
    m = re.fullmatch(r"\s*([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*=(.*)", a, re.S)
    if not m:
        raise UserError("bad assignment '%s' (write group.key=value)" % a)
    return m.group(1).lower(), m.group(2), m.group(3).strip()


def apply(text, assignments):
    for a in assignments:
        group, key, value = split_assignment(a)
        g = parse(text).get(group)
        if g is None:
            sep = "" if text.endswith("\n") or not text else "\n"
            text += "%s&%s %s = %s /\n" % (sep, group, key, value)
        elif key.lower() in g["keys"]:
            start, end, _ = g["keys"][key.lower()]
            name = text[start:start + len(key)]  # the file's spelling of the name
            text = text[:start] + "%s = %s" % (name, value) + text[end:]
        else:
            at = g["close"][2]
            line_start = text.rfind("\n", 0, at) + 1
            if text[line_start:at].strip():
                text = text[:at] + " %s = %s " % (key, value) + text[at:]
            else:
                text = text[:line_start] + "  %s = %s\n" % (key, value) + text[line_start:]
    parse(text)  # the result must still read back
    return text


def split_fields(line):
    """Blank-separated fields; quotes protect blanks; '#' outside quotes starts a comment."""
    fields, cur, quote = [], "", None
    for c in line:
        if quote:
            cur += c
            if c == quote:
                quote = None
        elif c in "'\"":
            cur += c
            quote = c
        elif c == "#":
            break
        elif c.isspace():
            if cur:
                fields.append(cur)
            cur = ""
        else:
            cur += c
    if quote:
        raise UserError("missing terminating %s character in: %s" % (quote, line.strip()))
    if cur:
        fields.append(cur)
    return fields


def read_table(path):
    with open(path, encoding="utf-8") as f:
        lines = [(i + 1, split_fields(line)) for i, line in enumerate(f)]
    lines = [(no, fl) for no, fl in lines if fl]
    if not lines:
        raise UserError("%s: no header line (group.key names)" % path)
    header = lines[0][1]
    for name in header:
        split_assignment(name + "=0")
    rows = []
    for no, fields in lines[1:]:
        if len(fields) != len(header):
            raise UserError("%s:%d: %d fields, the header has %d" % (path, no, len(fields),
                                                                      len(header)))
        rows.append(["%s=%s" % (h, v) for h, v in zip(header, fields)])
    return rows


def read(path):
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise UserError("cannot read %s: %s" % (path, e.strerror))


def main(argv):
    if len(argv) >= 4 and argv[0] == "get":
        g = parse(read(argv[1])).get(argv[2].lower())
        entry = g["keys"].get(argv[3].lower()) if g else None
        if entry is None:
            return 1
        print(", ".join(v[1] for v in entry[2]))
        return 0
    if len(argv) >= 3 and argv[0] == "set":
        text = apply(read(argv[1]), argv[3:])
        if argv[2] == "-":
            sys.stdout.write(text)
        else:
            tmp = argv[2] + ".tmp%d" % os.getpid()
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, argv[2])
        return 0
    if len(argv) == 2 and argv[0] == "rows":
        print(len(read_table(argv[1])))
        return 0
    if len(argv) == 3 and argv[0] == "row":
        rows = read_table(argv[1])
        if not argv[2].isdigit() or not 1 <= int(argv[2]) <= len(rows):
            raise UserError("%s: no task %s (the table has tasks 1 to %d)" % (argv[1], argv[2],
                                                                              len(rows)))
        print("\n".join(rows[int(argv[2]) - 1]))
        return 0
    raise UserError("usage: nml.py get INPUT GROUP KEY | set INPUT OUT group.key=value ... | "
                    "rows TABLE | row TABLE N")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UserError as e:
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        sys.exit(2)
