"""Animate a 2x2 kernel sliding over a 3x3 input: cross-correlation and convolution.

The seed notebook's animation, corrected so that the picture and the formula use the same
kernel. The notebook wrote ``I * [[2, 0], [1, -1]]`` (a convolution) above an animation
that slid ``[[0, -1], [2, 1]]`` over the input without rotating it (a cross-correlation)
and showed ``[[7, 5], [11, 3]]``. Here each row of the figure says what it computes:

* top: the cross-correlation ``I ⋆ K`` with ``K = [[0, -1], [2, 1]]``, the kernel slid as
  it is: ``[[7, 5], [11, 3]]``, computed with ``tg.correlate2d(I, K, "valid")``;
* bottom: the convolution ``I * K'`` with ``K' = [[2, 0], [1, -1]]``; a convolution slides
  the kernel rotated by 180 degrees, so the kernel is drawn rotated, as it is used:
  ``[[11, -2], [-2, 6]]``, computed with ``tg.convolve2d(I, K', "valid")``.

Under each row, the sum of products for the highlighted window is written out. Both
results are checked against ``scipy.signal`` before anything is drawn.

Run from the repository root::

    python examples/convolution_animation.py                     # writes convolution.gif
    python examples/convolution_animation.py --out conv.html     # self-contained HTML
    python examples/convolution_animation.py --no-convolution    # the top row only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

try:
    import tensorgrad as tg
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import tensorgrad as tg

INPUT = np.array([[1, 6, 2],
                  [5, 3, 1],
                  [7, 0, 4]])
KERNEL_CORRELATION = np.array([[0, -1],
                               [2, 1]])
KERNEL_CONVOLUTION = np.array([[2, 0],
                               [1, -1]])


def compute():
    """The two results, with tensorgrad, checked against scipy.signal.

    Returns
    -------
    list of dict
        One entry per row of the figure: the kernel as given (``kernel``), as slid over
        the input (``slid``: the kernel itself for correlation, rotated by 180 degrees for
        convolution), the output (2, 2) and the labels.
    """
    import scipy.signal

    corr = tg.correlate2d(INPUT, KERNEL_CORRELATION, "valid").numpy()
    conv = tg.convolve2d(INPUT, KERNEL_CONVOLUTION, "valid").numpy()
    np.testing.assert_array_equal(corr, scipy.signal.correlate2d(INPUT, KERNEL_CORRELATION,
                                                                 "valid"))
    np.testing.assert_array_equal(conv, scipy.signal.convolve2d(INPUT, KERNEL_CONVOLUTION,
                                                                "valid"))
    return [
        {"name": "cross-correlation", "symbol": r"$\star$", "symbol_size": 30,
         "kernel": KERNEL_CORRELATION,
         "slid": KERNEL_CORRELATION, "kernel_title": "kernel K", "output": corr,
         "output_title": r"$I \star K$  (valid)",
         "formula": "tg.correlate2d(I, K, 'valid')"},
        {"name": "convolution", "symbol": r"$\ast$", "symbol_size": 16,
         "kernel": KERNEL_CONVOLUTION,
         "slid": KERNEL_CONVOLUTION[::-1, ::-1],
         "kernel_title": "rot180(K'), K' = [[2, 0], [1, -1]]",
         "output": conv, "output_title": r"$I \ast K'$  (valid)",
         "formula": "tg.convolve2d(I, K', 'valid')"},
    ]


def _draw_matrix(ax, matrix, title, shown=None, highlight=None, size=2):
    """A matrix as coloured cells with its values; ``shown`` (a bool mask) hides entries not
    yet computed; ``highlight`` (row, col) outlines a size x size window."""
    import matplotlib.patches as patches

    ax.clear()
    ax.set_title(title, fontsize=8)
    shade = matrix if shown is None else np.ma.masked_array(matrix, mask=~shown)
    ax.imshow(shade, cmap="Blues", vmin=matrix.min() - 4, vmax=matrix.max() + 4)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if shown is None or shown[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=9)
    ax.set_xticks(np.arange(-0.5, matrix.shape[1], 1), minor=True)
    ax.set_yticks(np.arange(-0.5, matrix.shape[0], 1), minor=True)
    ax.grid(True, which="minor", color="gray", linewidth=1)
    ax.tick_params(which="both", length=0)
    ax.set_xticks([])
    ax.set_yticks([])
    if highlight is not None:
        r, c = highlight
        ax.add_patch(patches.Rectangle((c - 0.5, r - 0.5), size, size, linewidth=2.5,
                                       edgecolor="red", facecolor="none"))


def _products(window, slid):
    """'1·0 + 6·(-1) + ...' for a window and the kernel as slid."""
    terms = []
    for a, b in zip(window.ravel(), slid.ravel()):
        terms.append(f"{a}·{b}" if b >= 0 else f"{a}·({b})")
    return " + ".join(terms)


def build_animation(rows, interval=1500):
    """A matplotlib FuncAnimation with one frame per output position."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    n = len(rows)
    fig, axes = plt.subplots(n, 3, figsize=(6.4, 2.1 * n), dpi=100, squeeze=False)
    fig.subplots_adjust(wspace=0.6, hspace=0.9, top=0.88, bottom=0.12)
    fig.suptitle("I = [[1, 6, 2], [5, 3, 1], [7, 0, 4]], valid mode", fontsize=9)
    oh, ow = rows[0]["output"].shape
    kh, kw = rows[0]["kernel"].shape
    notes = [fig.text(0.5, 0, "", ha="center", fontsize=8) for _ in rows]

    def update(frame):
        r, c = divmod(frame, ow)
        shown = np.zeros((oh, ow), dtype=bool)
        shown.reshape(-1)[: frame + 1] = True
        for k, row in enumerate(rows):
            ax_in, ax_k, ax_out = axes[k]
            _draw_matrix(ax_in, INPUT, f"input I  ({row['name']})", highlight=(r, c),
                         size=kh)
            _draw_matrix(ax_k, row["slid"], row["kernel_title"])
            _draw_matrix(ax_out, row["output"], row["output_title"], shown=shown,
                         highlight=(r, c), size=1)
            ax_in.text(1.3, 0.5, row["symbol"], transform=ax_in.transAxes, ha="center",
                       va="center", fontsize=row["symbol_size"])
            ax_k.text(1.3, 0.5, "=", transform=ax_k.transAxes, ha="center", va="center",
                      fontsize=14)
            window = INPUT[r:r + kh, c:c + kw]
            y = ax_in.get_position().y0 - 0.07
            notes[k].set_position((0.5, y))
            notes[k].set_text(f"out[{r}, {c}] = {_products(window, row['slid'])} = "
                              f"{row['output'][r, c]}      ({row['formula']})")
        return notes

    return fig, FuncAnimation(fig, update, frames=oh * ow, interval=interval, repeat=True)


def save(anim, fig, out, interval=1500):
    """Write a GIF (PillowWriter) or, for a name ending in .html, self-contained HTML."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import PillowWriter

    out = Path(out)
    if out.suffix.lower() in (".html", ".htm"):
        out.write_text(anim.to_jshtml(fps=1000 / interval), encoding="utf-8")
    else:
        anim.save(out, writer=PillowWriter(fps=1000 / interval))
    plt.close(fig)


def main(argv=None) -> Path:
    """Parse the arguments, draw and save; returns the path written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="convolution.gif",
                        help="output file: .gif (default convolution.gif) or .html")
    parser.add_argument("--interval", type=int, default=1500,
                        help="milliseconds per frame (default 1500)")
    parser.add_argument("--no-convolution", action="store_true",
                        help="draw the cross-correlation row only")
    args = parser.parse_args(argv)
    if args.interval <= 0:
        parser.error(f"--interval must be positive, got {args.interval}")
    rows = compute()
    if args.no_convolution:
        rows = rows[:1]
    for row in rows:
        print(f"{row['name']}: {row['formula']} = {row['output'].tolist()}")
    fig, anim = build_animation(rows, args.interval)
    save(anim, fig, args.out, args.interval)
    print(f"wrote {args.out}")
    return Path(args.out)


if __name__ == "__main__":
    main()
