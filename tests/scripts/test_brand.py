"""The brand images follow the brands repository's rules and are what scripts/brand.py draws.

tests/test_brand.py shows Home Assistant serving them.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from PIL import Image, ImageStat
import pytest

from custom_components.ev_charge_control.const import DOMAIN
from scripts import brand

FOLDER = brand.BRAND
ICONS = ("icon.png", "dark_icon.png", "icon@2x.png", "dark_icon@2x.png")
LOGOS = ("logo.png", "dark_logo.png", "logo@2x.png", "dark_logo@2x.png")
# What core's brands integration serves from a custom integration's folder.
NAMES = ICONS + LOGOS
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Trimmed: the drawing reaches every edge, give or take the anti-aliased pixel.
MARGIN = 2


def _open(name: str) -> Image.Image:
    data = (FOLDER / name).read_bytes()
    assert data.startswith(PNG_SIGNATURE), f"{name} is not a PNG"
    image = Image.open(BytesIO(data))
    assert image.format == "PNG"
    return image


def test_the_folder_holds_the_eight_images_and_nothing_else() -> None:
    assert Path(__file__).parents[2] / "custom_components" / DOMAIN / "brand" == FOLDER
    assert sorted(path.name for path in FOLDER.iterdir()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_an_image_is_a_trimmed_png_with_transparency(name: str) -> None:
    image = _open(name)
    assert image.mode == "RGBA"
    alpha = image.getchannel("A")
    # Transparent somewhere (the tile's rounded corners), so it sits on any page's colour.
    assert alpha.getextrema()[0] == 0
    box = alpha.getbbox()
    assert box is not None
    left, top, right, bottom = box
    assert left <= MARGIN
    assert top <= MARGIN
    assert right >= image.width - MARGIN
    assert bottom >= image.height - MARGIN


@pytest.mark.parametrize("name", ICONS)
def test_an_icon_is_256_pixels_square_512_at_2x(name: str) -> None:
    side = 512 if "@2x" in name else 256
    assert _open(name).size == (side, side)


@pytest.mark.parametrize("name", LOGOS)
def test_a_logo_is_landscape_its_height_in_the_brands_limits(name: str) -> None:
    shortest, longest = (256, 512) if "@2x" in name else (128, 256)
    width, height = _open(name).size
    assert width > height
    assert shortest <= height <= longest
    # The largest allowed is preferred.
    assert height == longest


@pytest.mark.parametrize("scale", ["", "@2x"])
def test_a_dark_logo_has_light_words_a_light_logo_dark_ones(scale: str) -> None:
    """The words (right of the square tile) read on the page each variant is made for."""

    def words_brightness(name: str) -> float:
        image = _open(name)
        words = image.crop((image.height, 0, image.width, image.height))
        # Only the opaque pixels count: the page shows through the rest.
        opaque = words.getchannel("A").point(lambda alpha: 255 if alpha == 255 else 0)
        stat = ImageStat.Stat(words.convert("L"), mask=opaque)
        assert stat.count[0] > 1000, f"{name} has no words"
        return float(stat.mean[0])

    assert words_brightness(f"logo{scale}.png") < 64
    assert words_brightness(f"dark_logo{scale}.png") > 192


def test_the_committed_images_are_what_the_script_draws(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Change the drawing, run `.venv/bin/python scripts/brand.py`, commit the images."""
    assert brand.main(["--out", str(tmp_path)]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(NAMES)
    assert capsys.readouterr().out.count("bytes)\n") == len(NAMES)
    for name in NAMES:
        assert (tmp_path / name).read_bytes() == (FOLDER / name).read_bytes(), (
            f"brand/{name} is not what scripts/brand.py draws: run it and commit the result"
        )
