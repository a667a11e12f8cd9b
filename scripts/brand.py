# ruff: noqa: INP001 - a script of scripts/, imported by its tests as a namespace package
"""Draw the integration's brand images into custom_components/ev_charge_control/brand/.

Home Assistant (2026.3 and newer) serves a custom integration's own icon and logo from its
brand/ folder. This draws all eight from polygons and Pillow's built-in font, so running it again
writes the same bytes: `.venv/bin/python scripts/brand.py [--out FOLDER]`. Standard library and
Pillow only.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import io
from pathlib import Path
import sys

from PIL import Image, ImageDraw, ImageFont

BRAND = Path(__file__).resolve().parent.parent / "custom_components" / "ev_charge_control" / "brand"
NAME = "EV Charge Control"
# The brands repository's rules: icons 256 px square (512 px @2x); a logo's shortest side 128 to
# 256 px (256 to 512 px @2x), the largest preferred.
ICON = 256
LOGO_HEIGHT = 256
# Drawn this many times larger, then averaged down: polygons get smooth edges.
SUPERSAMPLE = 4

type Point = tuple[float, float]
type Colour = tuple[int, int, int, int]


@dataclass(frozen=True, kw_only=True)
class Theme:
    """The colours of one variant: light for a light page, dark for a dark one."""

    prefix: str
    tile: Colour
    glyph: Colour
    text: Colour


LIGHT = Theme(
    prefix="",
    tile=(0x1B, 0x9E, 0x77, 255),
    glyph=(255, 255, 255, 255),
    text=(0x1E, 0x29, 0x2E, 255),
)
# A brighter tile and near-white words: the light variant's dark grey words vanish on a dark page.
DARK = Theme(
    prefix="dark_",
    tile=(0x22, 0xB5, 0x8A, 255),
    glyph=(255, 255, 255, 255),
    text=(0xEC, 0xF2, 0xF0, 255),
)

# The glyph, in fractions of the tile: a plug (two pins up, cable down) with a bolt in its body.
PINS: tuple[tuple[Point, Point], ...] = (
    ((0.355, 0.15), (0.435, 0.36)),
    ((0.565, 0.15), (0.645, 0.36)),
)
BODY_TOP: tuple[Point, Point] = ((0.24, 0.32), (0.76, 0.52))
BODY_TAPER: tuple[Point, ...] = ((0.24, 0.46), (0.76, 0.46), (0.60, 0.71), (0.40, 0.71))
CABLE: tuple[Point, Point] = ((0.455, 0.68), (0.545, 0.87))
BOLT: tuple[Point, ...] = (
    (0.55, 0.355),
    (0.39, 0.565),
    (0.485, 0.565),
    (0.455, 0.695),
    (0.61, 0.475),
    (0.515, 0.475),
)


def _scale(points: tuple[Point, ...], size: int, left: int = 0) -> list[Point]:
    return [(left + x * size, y * size) for x, y in points]


def _draw_icon(draw: ImageDraw.ImageDraw, theme: Theme, size: int, left: int = 0) -> None:
    """Draw the rounded tile and its glyph in a size-pixel square at left."""
    draw.rounded_rectangle(
        (left, 0, left + size - 1, size - 1), radius=round(size * 0.22), fill=theme.tile
    )
    for corners in PINS:
        (x0, y0), (x1, y1) = _scale(corners, size, left)
        draw.rounded_rectangle((x0, y0, x1, y1), radius=(x1 - x0) / 2, fill=theme.glyph)
    (x0, y0), (x1, y1) = _scale(BODY_TOP, size, left)
    draw.rounded_rectangle((x0, y0, x1, y1), radius=size * 0.05, fill=theme.glyph)
    draw.polygon(_scale(BODY_TAPER, size, left), fill=theme.glyph)
    (x0, y0), (x1, y1) = _scale(CABLE, size, left)
    draw.rounded_rectangle((x0, y0, x1, y1), radius=(x1 - x0) / 2, fill=theme.glyph)
    draw.polygon(_scale(BOLT, size, left), fill=theme.tile)


def _downsample(image: Image.Image) -> Image.Image:
    """Average SUPERSAMPLE² pixels into one, weighting colour by opacity (no dark fringes)."""
    return image.convert("RGBa").reduce(SUPERSAMPLE).convert("RGBA")


def _trim(image: Image.Image) -> Image.Image:
    """Cut the transparent margins away (the brands repository wants images trimmed)."""
    return image.crop(image.getchannel("A").getbbox())


def icon(theme: Theme, size: int) -> Image.Image:
    """Return the square icon, size pixels wide."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    _draw_icon(ImageDraw.Draw(image), theme, big)
    return _downsample(image)


def logo(theme: Theme, height: int) -> Image.Image:
    """Return the icon with the name to its right, height pixels high."""
    big = height * SUPERSAMPLE
    font = ImageFont.load_default(size=round(big * 0.34))
    # A touch of outline in the text's own colour: the built-in font has only a regular weight.
    stroke = round(big * 0.008)
    gap = round(big * 0.16)
    text_width = round(ImageDraw.Draw(Image.new("L", (1, 1))).textlength(NAME, font=font))
    image = Image.new("RGBA", (big + gap + text_width + 4 * stroke, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    _draw_icon(draw, theme, big)
    # Capitals centred on the tile: the baseline sits half a capital's height below its middle.
    cap_top = font.getbbox("E", anchor="ls")[1]
    draw.text(
        (big + gap, (big - cap_top) / 2),
        NAME,
        font=font,
        fill=theme.text,
        anchor="ls",
        stroke_width=stroke,
        stroke_fill=theme.text,
    )
    return _trim(_downsample(image))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render() -> dict[str, bytes]:
    """Return the eight brand images, file name -> PNG bytes."""
    images: dict[str, bytes] = {}
    for theme in (LIGHT, DARK):
        for scale, suffix in ((1, ""), (2, "@2x")):
            images[f"{theme.prefix}icon{suffix}.png"] = _png(icon(theme, ICON * scale))
            images[f"{theme.prefix}logo{suffix}.png"] = _png(logo(theme, LOGO_HEIGHT * scale))
    return images


def write(folder: Path) -> list[Path]:
    """Write the eight brand images into folder; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in render().items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Write the images where Home Assistant looks for them, or into --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BRAND, help=f"folder (default {BRAND})")
    args = parser.parse_args(argv)
    for path in write(args.out):
        sys.stdout.write(f"{path} ({path.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
