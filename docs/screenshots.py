"""Screenshots of the built site in headless Chromium, to look at before a release.

Build the site first (``python -m sphinx -W -b html docs docs/_build/html``), then::

    python docs/screenshots.py                       # docs/screenshots/*.png
    python docs/screenshots.py debugging models      # other pages, by name
    python docs/screenshots.py --width 900           # a narrow window (the mobile layout)

Needs Chromium (Debian's package ``chromium``). Each page is opened from the file system, with
time for its scripts (the theme, MathJax) to run, and captured at the given window size.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
BUILD = DOCS / "_build" / "html"
PAGES = ["index", "debugging"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser() -> str:
    """The path of a Chromium executable; SystemExit naming the package when there is none."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("screenshots: no Chromium found (tried " + ", ".join(BROWSERS)
                     + "); on Debian: apt-get install chromium")


def screenshot(page: str, out: Path, width: int, height: int, exe: str) -> Path:
    """Capture ``page`` (a page name such as "index") of the built site into ``out``."""
    html = BUILD / f"{page}.html"
    if not html.exists():
        raise SystemExit(f"screenshots: {html} does not exist; build the site first: "
                         "python -m sphinx -W -b html docs docs/_build/html")
    png = out / f"{page.replace('/', '_')}.png"
    with tempfile.TemporaryDirectory() as profile:   # a fresh profile: no state between runs
        subprocess.run(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={profile}", f"--window-size={width},{height}",
             "--virtual-time-budget=5000", f"--screenshot={png}", html.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    return png


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", default=PAGES,
                        help="page names (default: index debugging)")
    parser.add_argument("--out", type=Path, default=DOCS / "screenshots")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2400)
    args = parser.parse_args(argv)
    exe = browser()
    args.out.mkdir(parents=True, exist_ok=True)
    written = [screenshot(p, args.out, args.width, args.height, exe) for p in args.pages]
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
