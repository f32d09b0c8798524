"""The skill's icons, drawn from this script (the source): dark, calm, readable at 108 px.

    .venv/bin/python tools/make_icons.py [--check]

Writes skill-package/assets/images/en-US_smallIconUri.png (108 x 108) and
en-US_largeIconUri.png (512 x 512), the names and folder the ASK CLI v2 uses for
`file://assets/images/...` icon URIs. A night sky: a warm crescent moon over a soft wave (a
muscle easing), on deep blue. Drawn at 4x and scaled down for smooth edges; the output is
deterministic, so `--check` (used by the tests) fails when the committed PNGs differ from
what this script draws (beyond resampling noise).
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent.parent / "skill-package" / "assets" / "images"
SIZES = {"smallIconUri": 108, "largeIconUri": 512}
LOCALE = "en-US"
SKY_TOP = (14, 20, 36)
SKY_BOTTOM = (29, 38, 60)
MOON = (226, 208, 164)
WAVE = (122, 150, 176)


def draw(size: int) -> Image.Image:
    scale = 4
    n = size * scale
    image = Image.new("RGB", (n, n), SKY_TOP)
    pixels = ImageDraw.Draw(image)
    for y in range(n):  # vertical gradient
        t = y / (n - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(SKY_TOP, SKY_BOTTOM, strict=True))
        pixels.line([(0, y), (n, y)], fill=colour)
    # The crescent: a disc minus a shifted disc.
    cx, cy, r = 0.5 * n, 0.40 * n, 0.22 * n
    moon = Image.new("L", (n, n), 0)
    ImageDraw.Draw(moon).ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    shadow = Image.new("L", (n, n), 0)
    dx, dy = 0.11 * n, -0.06 * n
    ImageDraw.Draw(shadow).ellipse([cx - r + dx, cy - r + dy, cx + r + dx, cy + r + dy], fill=255)
    crescent = ImageChops.subtract(moon, shadow)
    glow = crescent.filter(ImageFilter.GaussianBlur(0.04 * n))
    image.paste(Image.new("RGB", (n, n), (70, 72, 80)), (0, 0), glow.point(lambda v: v // 3))
    image.paste(Image.new("RGB", (n, n), MOON), (0, 0), crescent)
    # The wave: one gentle sine stroke across the lower third.
    # Stamped as round dabs along the curve: smooth joins at any size.
    rr = 0.018 * n
    for x in range(int(0.16 * n), int(0.84 * n) + 1):
        y = 0.74 * n + 0.045 * n * math.sin(2 * math.pi * (x / n) * 1.5 + 0.6)
        pixels.ellipse([x - rr, y - rr, x + rr, y + rr], fill=WAVE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _differs(a: Image.Image, b: Image.Image) -> bool:
    """More than rounding apart (another Pillow version may resample a shade differently)."""
    if a.size != b.size:
        return True
    diff = ImageChops.difference(a, b).convert("L")
    histogram = diff.histogram()
    mean = sum(level * count for level, count in enumerate(histogram)) / (a.width * a.height)
    return mean > 1.0 or max(i for i, c in enumerate(histogram) if c) > 48


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def icon_path(name: str) -> Path:
    return OUT / f"{LOCALE}_{name}.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw the skill icons.")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, size in SIZES.items():
        image = draw(size)
        path = icon_path(name)
        if args.check:
            if not path.is_file() or _differs(Image.open(path).convert("RGB"), image):
                stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(png_bytes(image))
            print(path)
    for path in stale:
        print(f"stale: {path} (run tools/make_icons.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
