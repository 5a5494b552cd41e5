#!/usr/bin/python3
"""Renders one saved configuration of an invrg run file as a black-and-white PNG.

    /usr/bin/python3 tools/show_config.py run.h5 /dream/L128/configs 3 -o picture.png
    /usr/bin/python3 tools/show_config.py run.h5 dream/L128 -o picture.png --title "L = 128"
    /usr/bin/python3 tools/show_config.py run.h5 --list

DATASET is a configuration dataset ([sample][y][x], int8 ±1 or bit-packed uint8 with
format = "packed"); a group such as /dream/L128 means its configs dataset. INDEX (default 0)
picks the configuration; negative values count from the end.

Exact pixels: one pixel per spin (white = +1, black = −1), or each spin an s×s block of pixels
(nearest-neighbour) with --scale s; by default s is chosen so that small lattices come out at
least 256 pixels wide (s = 1 from L = 256 on). Without --title the file is a 1-bit grayscale PNG
written directly (any size, 32768² included); --title adds a white band with the text above the
picture (the spins keep their exact pixels) and stores the text as the PNG's Title.

Exit status: 0 success, 2 bad arguments or input (not an invrg file, no such dataset, index out
of range), 1 anything else.
"""
import argparse
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import invrg_io  # noqa: E402

PROG = "show_config.py"
MIN_WIDTH = 256          # default upscaling target for small lattices (pixels)
TITLE_MAX_WIDTH = 16384  # larger pictures keep the title in the PNG metadata only


class UserError(Exception):
    """Bad arguments or input: one line on stderr, exit status 2."""


# ---------------------------------------------------------------------------- PNG writer

def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def write_png_bits(path, spins, scale=1, title=None):
    """Writes ±1 spins as a 1-bit grayscale PNG (1 = white = +1), each spin a scale×scale block.

    Rows are compressed as they are produced, so memory stays near the size of the lattice.
    """
    h, w = spins.shape[0] * scale, spins.shape[1] * scale
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)))
        if title:
            # iTXt: keyword, compression flag/method, language, translated keyword, UTF-8 text.
            f.write(_chunk(b"iTXt", b"Title\x00\x00\x00\x00\x00" + title.encode("utf-8")))
        f.write(_chunk(b"tEXt", b"Software\x00invrg tools/show_config.py"))
        comp = zlib.compressobj(6)
        step = max(1, 4096 // max(1, scale))
        for y0 in range(0, spins.shape[0], step):
            block = spins[y0:y0 + step] > 0
            if scale > 1:
                block = np.repeat(np.repeat(block, scale, axis=0), scale, axis=1)
            rows = np.packbits(block, axis=1, bitorder="big")
            raw = np.concatenate([np.zeros((rows.shape[0], 1), np.uint8), rows], axis=1)
            data = comp.compress(raw.tobytes())
            if data:
                f.write(_chunk(b"IDAT", data))
        f.write(_chunk(b"IDAT", comp.flush()))
        f.write(_chunk(b"IEND", b""))
    os.replace(tmp, path)
    return w, h


def write_png_titled(path, spins, scale, title):
    """The picture with a title band above it, drawn by matplotlib; spins keep exact pixels."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.lines
    import matplotlib.pyplot as plt

    img = spins > 0
    if scale > 1:
        img = np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
    h, w = img.shape
    dpi = 100
    font = 12 if w >= 256 else 9
    # Long titles: wrap to the picture's width (about 0.6 em per character).
    chars = max(8, int(w / (0.6 * font * dpi / 72)))
    lines, cur = [], ""
    for word in title.split():
        if cur and len(cur) + 1 + len(word) > chars:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    lines.append(cur)
    band = int(len(lines) * 1.3 * font * dpi / 72) + 14
    H = h + band
    fig = plt.figure(figsize=(w / dpi, H / dpi), dpi=dpi, facecolor="white")
    fig.figimage(img.astype(np.uint8) * 255, xo=0, yo=0, cmap="gray", vmin=0, vmax=255,
                 origin="upper", resize=False)
    fig.text(0.5, 1.0 - 0.5 * (band - 3) / H, "\n".join(lines), ha="center", va="center",
             fontsize=font)
    # A thin grey rule between the title and the picture, clear of the spins' pixels.
    y = (h + 2.5) / H
    fig.add_artist(matplotlib.lines.Line2D([0, 1], [y, y], color="0.6", lw=72 / dpi,
                                           antialiased=False))
    tmp = path + ".tmp"
    fig.savefig(tmp, dpi=dpi, format="png", facecolor="white",
                metadata={"Title": title, "Software": "invrg tools/show_config.py"})
    plt.close(fig)
    os.replace(tmp, path)
    return w, h + band


# ------------------------------------------------------------------------------- main

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        sys.exit(2)


def parse_args(argv):
    p = _Parser(prog=PROG, description="Render one saved configuration of an invrg run file "
                "as a black-and-white PNG (white = +1, black = -1), one pixel per spin.",
                epilog="Example: /usr/bin/python3 tools/show_config.py default.h5 "
                       "/dream/L128/configs 3 -o picture.png --title 'dream, L = 128'")
    p.add_argument("run", metavar="run.h5", help="invrg run file")
    p.add_argument("dataset", nargs="?", metavar="DATASET",
                   help="configuration dataset, e.g. /dream/L128/configs or /mc/L32/configs "
                        "(a group such as /dream/L128 means its configs)")
    p.add_argument("index", nargs="?", default="0", metavar="INDEX",
                   help="which configuration (default 0; negative counts from the end)")
    p.add_argument("-o", "--output", metavar="PNG",
                   help="output file (default: <run>_<source>_L<L>_<index>.png here)")
    p.add_argument("--title", help="text drawn above the picture (also stored as PNG Title)")
    p.add_argument("--scale", type=int, metavar="S",
                   help="pixels per spin side (nearest neighbour); default: 1, or enough for "
                        f"{MIN_WIDTH} pixels on small lattices")
    p.add_argument("--list", action="store_true", help="list the configuration datasets")
    args = p.parse_args(argv)
    if not args.list and args.dataset is None:
        p.error("DATASET is required (use --list to see the run's configuration datasets)")
    try:
        args.index = int(args.index)
    except ValueError:
        p.error(f"INDEX must be an integer, not {args.index!r}")
    if args.scale is not None and not 1 <= args.scale <= 1024:
        p.error("--scale must be between 1 and 1024")
    return args


def listing(rf):
    ds = rf.config_datasets()
    if not ds:
        return "none (save them with &dream save_levels or &mc save_configs)"
    return ", ".join(f"{d['path']} ({d['n']} × {d['L']}², {d['format']})" for d in ds)


def main(argv):
    args = parse_args(argv)
    path = args.run
    if not os.path.exists(path):
        print(f"{PROG}: error: {path}: no such file", file=sys.stderr)
        return 2
    try:
        rf = invrg_io.open_run(path)
    except invrg_io.FormatError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyError as e:
        print(f"{PROG}: error: {path}: not a complete invrg run file "
              f"({e.args[0] if e.args else e})", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{PROG}: error: {path}: not an HDF5 file or not readable ({e})", file=sys.stderr)
        return 2
    try:
        with rf:
            if args.list:
                for d in rf.config_datasets():
                    print(f"{d['path']}\t{d['n']} configurations of {d['L']} x {d['L']}, "
                          f"{d['format']}")
                return 0
            dset = "/" + args.dataset.strip("/")
            if rf.has(dset) and not hasattr(rf.h5[dset.strip("/")], "shape") \
                    and rf.has(dset + "/configs"):
                dset += "/configs"          # a group: its configurations
            if not rf.has(dset):
                raise UserError(f"{path}: no dataset {dset}; configuration datasets: "
                                f"{listing(rf)}")
            obj = rf.h5[dset.strip("/")]
            if not hasattr(obj, "shape") or len(obj.shape) != 3:
                raise UserError(f"{path}:{dset} is not a configuration dataset "
                                f"([sample][y][x]); configuration datasets: {listing(rf)}")
            try:
                spins = rf.read_configs(dset, args.index)
            except IndexError as e:
                raise UserError(str(e)) from None
            except invrg_io.FormatError as e:
                raise UserError(str(e)) from None
            Ly, Lx = spins.shape
            scale = args.scale or max(1, -(-MIN_WIDTH // Lx))
            out = args.output
            if out is None:
                stem = os.path.splitext(os.path.basename(path))[0]
                parts = [p for p in dset.strip("/").split("/") if p != "configs"]
                out = f"{stem}_{'_'.join(parts)}_{args.index}.png"
            outdir = os.path.dirname(os.path.abspath(out))
            if not os.path.isdir(outdir):
                raise UserError(f"{out}: directory {outdir} does not exist")
            if os.path.isdir(out):
                raise UserError(f"{out}: is a directory; give a file name")
            title = args.title
            if title and Lx * scale <= TITLE_MAX_WIDTH:
                w, h = write_png_titled(out, spins, scale, title)
            else:
                if title:
                    print(f"{PROG}: note: picture wider than {TITLE_MAX_WIDTH} pixels: the title "
                          f"is stored in the PNG metadata only", file=sys.stderr)
                w, h = write_png_bits(out, spins, scale, title)
            m = float(spins.mean(dtype=np.float64))
            print(f"{PROG}: wrote {out}: {dset}[{args.index}], {Lx} x {Ly} spins, m = {m:+.4f}, "
                  f"{w} x {h} pixels ({scale} per spin side)")
    except UserError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
