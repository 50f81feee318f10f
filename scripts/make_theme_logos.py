"""Turn a short name and a colour into the PNG logos of the shipped example themes.

python scripts/make_theme_logos.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent.parent / "templates"
LOGOS = {
    "civic-logo.png": ("OPL", (31, 95, 74), (255, 255, 255)),
    "slate-logo.png": ("NDI", (40, 44, 52), (232, 76, 61)),
}


def make(text: str, background: tuple[int, int, int], ink: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (360, 120), background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(HERE / "fonts" / "NotoSans-Bold.ttf"), 72)
    draw.rectangle((12, 12, 108, 108), outline=ink, width=8)
    draw.text((130, 10), text, font=font, fill=ink)
    return image


if __name__ == "__main__":
    for name, (text, background, ink) in LOGOS.items():
        make(text, background, ink).save(HERE / "themes" / name, optimize=True)
        print(f"wrote themes/{name}")
