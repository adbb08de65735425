import io
import subprocess
import sys

import numpy as np
import pytest
from standins import autoencoder_kinds
import torch
from scipy.ndimage import binary_dilation, gaussian_filter
from PIL import Image, ImageDraw

from bench import photos
from bench.photos import png_header_only
from explorer import latents
from explorer.drawing import (NoDigitFound, canvas_to_gray, find_digit, load_image, nearest_neighbours, read_digit,
                              to_mnist)
from explorer.errors import ExplorerError
from explorer.models import ModelConfig, build_model


def stroke_canvas(size=280, ink=255, paper=0, line=((20, 20), (90, 70)), width=18):
    """A (size, size) float image in [0, 1] with one thick stroke, by default in the top-left corner."""
    image = Image.new("L", (size, size), paper)
    ImageDraw.Draw(image).line(line, fill=ink, width=width)
    return np.asarray(image, np.float32) / 255.0


def encode_png(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kwargs.pop("format", "PNG"), **kwargs)
    return buffer.getvalue()


def center_of_mass(image):
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def bounding_box(image):
    rows, cols = np.nonzero(image > 0)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


# --- to_mnist ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("line", [((20, 20), (90, 70)), ((200, 150), (260, 270)), ((140, 30), (140, 250)),
                                  ((10, 260), (270, 250))])
def test_to_mnist_scales_and_centres_like_mnist(line):
    digit = to_mnist(stroke_canvas(line=line))
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() >= 0 and digit.max() <= 1 and digit.max() > 0.9
    height, width = bounding_box(digit)
    assert height <= 20 and width <= 20 and max(height, width) >= 19
    np.testing.assert_allclose(center_of_mass(digit), (14, 14), atol=1.0)
    assert digit[0].sum() == digit[-1].sum() == digit[:, 0].sum() == digit[:, -1].sum() == 0


def test_dark_ink_on_white_is_inverted():
    bright_on_dark = to_mnist(stroke_canvas(ink=255, paper=0))
    dark_on_bright = to_mnist(stroke_canvas(ink=0, paper=255))
    np.testing.assert_allclose(dark_on_bright, bright_on_dark, atol=1e-5)


def test_grey_paper_photo_gets_a_black_background():
    photo = stroke_canvas(ink=60, paper=200)
    photo = np.clip(photo + np.random.default_rng(0).normal(0, 0.02, photo.shape), 0, 1)
    digit = to_mnist(photo)
    assert digit.max() == pytest.approx(1.0, abs=0.05)
    assert (digit[:3] == 0).all()  # the paper and its noise are gone
    np.testing.assert_allclose(center_of_mass(digit), (14, 14), atol=1.0)


def noisy(image, sigma=0.02, seed=0):
    return np.clip(image + np.random.default_rng(seed).normal(0, sigma, image.shape), 0, 1)


@pytest.mark.parametrize("ink, paper", [(25, 115), (20, 100), (30, 125)])
def test_dark_ink_on_dim_paper_is_a_digit(ink, paper):
    """An underexposed phone photo: paper below mid-grey, and the ink darker still."""
    digit = to_mnist(noisy(stroke_canvas(ink=ink, paper=paper, line=((140, 30), (140, 250)))))
    height, width = bounding_box(digit)
    assert height <= 20 and width <= 20 and max(height, width) >= 19
    np.testing.assert_allclose(center_of_mass(digit), (14, 14), atol=1.0)
    assert digit.max() == pytest.approx(1.0, abs=0.05) and (digit[:3] == 0).all()


@pytest.mark.parametrize("ink, paper", [(25, 115), (20, 100), (30, 125), (255, 0), (180, 40), (130, 60),
                                        (0, 255), (60, 200), (120, 250)],
                         ids=lambda v: str(v))
@pytest.mark.parametrize("sigma", [0.0, 0.02])
def test_ink_maps_to_one_on_black_whichever_way_it_differs_from_the_paper(ink, paper, sigma):
    photo = noisy(stroke_canvas(ink=ink, paper=paper), sigma)
    digit = to_mnist(photo)
    height, width = bounding_box(digit)
    assert height <= 20 and width <= 20 and max(height, width) >= 19
    np.testing.assert_allclose(center_of_mass(digit), (14, 14), atol=1.0)
    assert digit.max() == pytest.approx(1.0, abs=0.05)
    # As much solid ink as the same stroke drawn white on black: stretched to full contrast, not a faint smear.
    assert (digit > 0.5).sum() == pytest.approx((to_mnist(stroke_canvas()) > 0.5).sum(), rel=0.1)


@pytest.mark.parametrize("level", [0.0, 0.2, 0.45, 0.5, 0.55, 0.8, 1.0])
@pytest.mark.parametrize("noise", ["none", "gaussian", "uniform"])
def test_uniform_picture_with_light_noise_is_still_empty(level, noise):
    rng = np.random.default_rng(1)
    blank = np.full((280, 280), level)
    if noise == "gaussian":
        blank = blank + rng.normal(0, 0.02, blank.shape)
    elif noise == "uniform":
        blank = blank + rng.uniform(-0.04, 0.04, blank.shape)
    with pytest.raises(NoDigitFound, match="No digit found in the picture"):
        to_mnist(np.clip(blank, 0, 1))


@pytest.mark.parametrize("blank", [np.zeros((280, 280)), np.ones((280, 280)),
                                   np.random.default_rng(0).uniform(0, 0.04, (280, 280))])
def test_empty_drawing_is_explained(blank):
    with pytest.raises(NoDigitFound, match="No digit found in the picture"):
        to_mnist(blank)


# --- photos: uneven light, shadows, coloured ink, lined paper (issue 19) ------------------------------

def mnist_like_four() -> np.ndarray:
    """A 28×28 "4" in [0, 1] with soft edges, drawn at 4× and shrunk as MNIST's were."""
    image = Image.new("L", (112, 112), 0)
    pen = ImageDraw.Draw(image)
    pen.line([(44, 16), (28, 64), (84, 64)], fill=255, width=10, joint="curve")
    pen.line([(70, 24), (70, 100)], fill=255, width=10)
    return np.asarray(image.resize((28, 28), Image.Resampling.LANCZOS), np.float32).clip(0, 255) / 255.0


def gray_photo(condition, seed=3) -> np.ndarray:
    """The 4 photographed under `condition` (bench/photos.py), as the app reads the JPEG file."""
    return load_image(photos.photograph(mnist_like_four(), condition, seed))


def ink_overlap(a, b) -> float:
    """Intersection over union of where two 28×28 digits have solid ink (> 0.5), at the best shift by up to
    a pixel (centring rounds to the nearest pixel, so the same digit can land one pixel apart)."""
    a, b = a > 0.5, b > 0.5
    shifts = [np.roll(a, (dr, dc), axis=(0, 1)) for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
    return max((s & b).sum() / (s | b).sum() for s in shifts)


def jpeg_gray(gray: np.ndarray, quality=85) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((np.clip(gray, 0, 1) * 255).round().astype(np.uint8)).convert("RGB").save(buffer, "JPEG",
                                                                                            quality=quality)
    return buffer.getvalue()


def test_a_jpeg_lit_from_one_side_is_still_a_digit():
    """The reported bug: a dark pen digit, the paper a third darker at one edge, saved as JPEG, was refused as blank."""
    ink = stroke_canvas(size=400, line=((140, 60), (100, 230), (290, 230)), width=8)
    ink = np.maximum(ink, stroke_canvas(size=400, line=((240, 90), (240, 350)), width=8))
    paper = 0.92 * np.linspace(1.0, 2 / 3, 400)[None, :]  # lit from the left
    photo = paper * (1 - 0.7 * ink) + np.random.default_rng(0).normal(0, 0.02, ink.shape)
    digit = to_mnist(load_image(jpeg_gray(photo)))
    evenly_lit = to_mnist(load_image(jpeg_gray(0.92 * (1 - 0.7 * ink))))
    assert ink_overlap(digit, evenly_lit) > 0.8
    np.testing.assert_allclose(center_of_mass(digit), (14, 14), atol=1.0)


PLAIN = photos.Condition("plain")
PHOTO_CONDITIONS = [photos.Condition(f"gradient {g}:1", gradient=g) for g in (1.5, 2.0, 3.0)] + [
    photos.Condition("shadow", shadow=0.5),
    photos.Condition("blue ink", ink=photos.BLUE_INK_RGB),
    photos.Condition("ruled", ruled=True),
    photos.Condition("squared", squared=True),
    photos.Condition("scribble", scribble=True),
    photos.Condition("jpeg 30", jpeg_quality=30),
]


@pytest.mark.parametrize("condition", PHOTO_CONDITIONS, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", [3, 4])
def test_a_photo_under_each_condition_gives_the_same_digit_as_under_even_light(condition, seed):
    digit = to_mnist(gray_photo(condition, seed))
    plain = to_mnist(gray_photo(PLAIN, seed))
    assert ink_overlap(digit, plain) > 0.75  # the ink where the digit is ...
    stray = (digit > 0.35) & ~binary_dilation(plain > 0, iterations=2)
    assert not stray.any()  # ... and no ink (lines, shadow, scribble) away from it
    height, width = bounding_box(digit > 0.05)
    assert max(height, width) >= 19 and height <= 20 and width <= 20
    np.testing.assert_allclose(center_of_mass(digit), (14, 14), atol=1.0)


def test_a_dark_desk_around_the_sheet_is_not_taken_for_the_paper():
    plain = gray_photo(PLAIN)
    on_desk = np.pad(plain, 20, constant_values=0.25)  # the photo shows a strip of dark desk on every side
    assert ink_overlap(to_mnist(on_desk), to_mnist(plain)) > 0.75


def test_a_turned_photo_gives_the_digit_turned():
    digit = to_mnist(gray_photo(photos.Condition("turned", turn=10.0)))
    assert ink_overlap(digit, to_mnist(gray_photo(PLAIN))) > 0.5
    np.testing.assert_allclose(center_of_mass(digit), (14, 14), atol=1.0)


@pytest.mark.parametrize("paper", ["ruled", "squared"])
def test_ruled_lines_are_gone_from_the_digit(paper):
    """Rows and columns of the 28×28 digit outside the 4's ink stay black: no line runs across the field."""
    digit = to_mnist(gray_photo(photos.Condition(paper, ruled=paper == "ruled", squared=paper == "squared")))
    rows, cols = np.flatnonzero((digit > 0.1).any(axis=1)), np.flatnonzero((digit > 0.1).any(axis=0))
    assert rows.size <= 20 and cols.size <= 20  # a line would light a whole row or column of 28
    assert not (digit > 0.1).all(axis=1).any() and not (digit > 0.1).all(axis=0).any()


def test_the_crop_is_the_digit_not_the_scribble_beside_it():
    found = find_digit(gray_photo(photos.Condition("scribble", scribble=True)))
    top, left, bottom, right = found.box
    assert top > 50 and left > 50  # the scribble lies within 50 px of the top-left corner
    assert 110 <= bottom - top <= 140 and 80 <= right - left <= 140  # the 4: 21 of 28 rows, printed ×6


def test_a_tight_crop_of_a_one_is_not_taken_for_a_ruled_line():
    picture = np.full((200, 120), 0.9)
    picture[10:190, 58:61] = 0.1  # a thin pen stroke from top to bottom: a 1
    digit = to_mnist(picture)
    assert bounding_box(digit)[0] == 20


def textured_paper(level=0.9, seed=0, size=288):
    rng = np.random.default_rng(seed)
    return level + gaussian_filter(rng.normal(0, 0.015, (size, size)), 1) + rng.normal(0, 0.01, (size, size))


def refusals():
    rng = np.random.default_rng(0)
    rows, cols = np.indices((288, 288)) / 287
    return {
        "blank page": textured_paper(),
        "plain surface": 0.55 + 0.6 * gaussian_filter(rng.normal(0, 1, (288, 288)), (2, 30)) + textured_paper(0),
        "gradient 3:1": 0.9 * (1 - (rows + cols) / 3) + textured_paper(0),
        "gradient 6:1": 0.9 * (1 - cols * 5 / 6) + textured_paper(0),
        "soft shadow": 0.9 * (1 - 0.5 * gaussian_filter((cols < 0.4).astype(float), 12)) + textured_paper(0),
        "vignette": 0.9 * (1 - (rows - 0.5) ** 2 - (cols - 0.5) ** 2) + textured_paper(0),
        "uniform noise": rng.uniform(0, 1, (288, 288)),
        "gaussian noise": 0.5 + rng.normal(0, 0.2, (288, 288)),
        "blotchy noise": 0.5 + 3 * gaussian_filter(rng.normal(0, 1, (288, 288)), 3),
    }


@pytest.mark.parametrize("name", list(refusals()))
def test_pictures_without_a_digit_are_refused(name):
    with pytest.raises(NoDigitFound, match="No digit found in the picture"):
        to_mnist(load_image(jpeg_gray(refusals()[name])))


def test_a_blank_ruled_page_is_refused():
    with pytest.raises(NoDigitFound):
        to_mnist(load_image(photos.photograph(np.zeros((28, 28)), photos.Condition("ruled", ruled=True), seed=0)))


def test_the_picture_message_never_asks_to_draw():
    with pytest.raises(NoDigitFound) as refused:
        to_mnist(np.ones((64, 64)))
    message = str(refused.value)
    assert message.startswith("No digit found in the picture") and "draw" not in message.lower()
    assert "Try" in message  # says what to try


# --- canvas -----------------------------------------------------------------------------------------

def canvas_rgba(stroke_rgb=(255, 255, 255), background_alpha=0):
    ink = stroke_canvas() > 0.5
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = background_alpha
    rgba[ink] = (*stroke_rgb, 255)
    return rgba, ink


@pytest.mark.parametrize("stroke_rgb, background_alpha", [((255, 255, 255), 0), ((255, 255, 255), 255),
                                                          ((0, 0, 0), 0), ((200, 30, 30), 0)])
def test_canvas_strokes_become_ink(stroke_rgb, background_alpha):
    rgba, ink = canvas_rgba(stroke_rgb, background_alpha)
    gray = canvas_to_gray(rgba)
    assert gray.shape == (280, 280) and gray.dtype == np.float32
    digit = to_mnist(gray)  # whatever the colour, the stroke ends up bright on black
    np.testing.assert_allclose(digit, to_mnist(ink.astype(np.float32)), atol=1e-5)


def test_untouched_canvas_is_empty():
    with pytest.raises(NoDigitFound, match="No digit found in the picture"):
        to_mnist(canvas_to_gray(np.zeros((280, 280, 4), np.uint8)))


# --- load_image: files that work ------------------------------------------------------------------

def ink_picture():
    return Image.fromarray((stroke_canvas(size=64, line=((10, 10), (40, 50)), width=8) * 255).astype(np.uint8))


def test_png_and_jpeg_load_as_gray():
    for data in (encode_png(ink_picture()), encode_png(ink_picture().convert("RGB"), format="JPEG")):
        gray = load_image(data)
        assert gray.shape == (64, 64) and gray.dtype == np.float32
        assert gray.min() >= 0 and gray.max() <= 1
        np.testing.assert_allclose(gray, np.asarray(ink_picture()) / 255.0, atol=0.1)


def test_16_bit_png_uses_its_full_range():
    values = (np.linspace(0, 1, 64 * 64).reshape(64, 64) * 65535).astype(np.uint16)
    gray = load_image(encode_png(Image.fromarray(values)))
    np.testing.assert_allclose(gray, values / 65535.0, atol=1e-6)


def test_transparent_png_with_dark_ink_becomes_ink():
    ink = np.asarray(ink_picture()) > 127
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[ink] = (20, 20, 20, 255)  # dark ink, transparent everywhere else
    gray = load_image(encode_png(Image.fromarray(rgba, "RGBA")))
    assert gray[~ink].min() == 1.0 and gray[ink].max() < 0.1  # composited onto white ...
    np.testing.assert_allclose(to_mnist(gray), to_mnist(ink.astype(np.float32)), atol=1e-5)  # ... then inverted


def test_palette_pngs_load():
    picture = ink_picture()
    palette = picture.convert("P")
    assert load_image(encode_png(palette)).shape == (64, 64)
    transparent = picture.convert("P")
    transparent.info["transparency"] = 0  # the black background becomes see-through
    gray = load_image(encode_png(transparent, transparency=0))
    digit = to_mnist(gray)
    np.testing.assert_allclose(center_of_mass(digit), (14, 14), atol=1.0)


def test_animated_gif_uses_the_first_frame():
    first = ink_picture()
    second = Image.new("L", (64, 64), 128)
    data = encode_png(first, format="GIF", save_all=True, append_images=[second], duration=100, loop=0)
    np.testing.assert_allclose(load_image(data), np.asarray(first) / 255.0, atol=0.02)


def test_big_picture_is_shrunk_and_jpeg_rotation_applied():
    wide = Image.new("L", (300, 200), 255)
    assert load_image(encode_png(wide), max_side=100).shape == (67, 100)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    rotated = load_image(encode_png(wide.convert("RGB"), format="JPEG", exif=exif))
    assert rotated.shape == (300, 200)


# --- load_image: files that don't -----------------------------------------------------------------

def truncated_png():
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    data = encode_png(Image.fromarray(noise))
    return data[: len(data) // 2]


@pytest.mark.parametrize("data, match", [
    (b"", "empty"),
    (b"hello, I am a text file named digit.png\n", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", "not an image"),
    (truncated_png(), "damaged or incomplete"),
    (encode_png(Image.new("L", (1, 1), 0)), "too small to contain a digit"),
    (encode_png(Image.new("L", (5, 40), 0)), "too small to contain a digit"),
    (png_header_only(6000, 6000), "limit"),
])
def test_bad_files_are_explained(data, match):
    with pytest.raises(ExplorerError, match=match):
        load_image(data)


def test_decompression_bomb_is_refused():
    bomb = png_header_only(20000, 20000)  # how fast: bench/photos.py
    assert len(bomb) < 200_000
    with pytest.raises(ExplorerError, match="too large|limit"):
        load_image(bomb)


def test_byte_limit():
    with pytest.raises(ExplorerError, match="MB"):
        load_image(encode_png(ink_picture()), max_bytes=100)


# --- neighbours ---------------------------------------------------------------------------------------

def test_nearest_neighbours():
    codes = np.array([[0.0, 0.0], [5.0, 5.0], [1.0, 0.0], [0.0, 2.0], [9.0, 9.0]])
    np.testing.assert_array_equal(nearest_neighbours(codes, np.array([0.1, 0.0]), k=3), [0, 2, 3])
    np.testing.assert_array_equal(nearest_neighbours(codes, [[8.0, 8.0]], k=10), [4, 1, 3, 2, 0])
    with pytest.raises(ExplorerError, match="at least 1"):
        nearest_neighbours(codes, np.zeros(2), k=0)



# --- what a model reads in a digit ------------------------------------------------------------------

def tiny_model(kind, shape=(1, 28, 28)):
    torch.manual_seed(0)
    return build_model(ModelConfig(kind=kind, image_shape=shape, latent_dim=4, hidden=(16,), channels=(4, 8))).eval()


@pytest.mark.parametrize("kind", autoencoder_kinds())
def test_read_digit_gives_code_reconstruction_error_and_neighbours(kind):
    model = tiny_model(kind)
    digit = to_mnist(stroke_canvas(line=((140, 30), (140, 250))))
    others = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    reference = latents.encode_dataset(model, torch.cat([others, torch.from_numpy(digit)[None, None]]))  # (7, 4)
    reading = read_digit(model, digit, reference, k=3)
    assert reading.code.shape == (4,) and reading.reconstruction.shape == (28, 28)
    assert 0 <= reading.reconstruction.min() and reading.reconstruction.max() <= 1
    expected = latents.reconstruction_errors(model, torch.from_numpy(digit)[None, None])[0]
    assert reading.error == pytest.approx(float(expected), rel=1e-5)
    assert len(reading.neighbours) == 3 and reading.neighbours[0] == 6  # the digit's own code is nearest


def test_read_digit_refuses_models_of_other_image_shapes():
    with pytest.raises(ExplorerError, match="28×28"):
        read_digit(tiny_model("ae", shape=(1, 8, 8)), np.zeros((28, 28)), np.zeros((3, 4)))

def test_explorer_never_imports_streamlit():
    code = ("import sys, explorer.denoise, explorer.anomaly, explorer.drawing; "
            "sys.exit('streamlit' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=str(__import__("pathlib").Path(__file__).parents[1])).returncode == 0
