"""The Compression lab under AppTest: curves from real byte counts, a selected point shows its digits."""

import json

import numpy as np
import pytest

from chart_json import array
from explorer import checkpoints, compression, data, latents
from ui import compression_page


PAGE = "compression_page"  # the conftest fixture `app` runs this page


def rd_chart(app) -> dict:
    [found] = [c for c in app.get("plotly_chart") if c.proto.id.endswith(f"-{compression_page.CHART_KEY}")]
    return json.loads(found.proto.spec)


def curve(spec: dict, name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    [t] = [t for t in spec["data"] if t["name"] == name]
    return array(t["x"]).astype(float), array(t["y"]).astype(float), [row[0] for row in t["customdata"]]


def select(app, key: str) -> None:
    app.session_state[compression_page.CHART_KEY] = {"selection": {
        "points": [{"curve_number": 0, "point_index": 0, "customdata": [key, ""]}],
        "point_indices": [0], "box": [], "lasso": []}}
    app.run()


def test_the_curves_are_the_measured_bytes_and_psnr(app, app_env):
    app.run()
    assert not app.exception and not app.error
    spec = rd_chart(app)
    assert [t["name"] for t in spec["data"]] == ["ae_32", "vae_32", "conv_ae_32", "conv_vae_32", compression.PCA,
                                                compression.JPEG_FILE, compression.JPEG_SCAN]
    ds = data.load_dataset("mnist5k")
    x = ds.x_test[:500].numpy()
    # JPEG at quality 5: the mean length of Pillow's files for the same 500 digits.
    sizes, psnr, keys = curve(spec, compression.JPEG_FILE)
    assert keys[0] == f"{compression.JPEG_FILE}:q5"
    assert sizes[0] == pytest.approx(np.mean([len(compression.jpeg_bytes(im[0], 5)) for im in x]))
    # ae_32 at 1 bit: the LZMA length of its quantized test codes (ranges from its training codes) / 500.
    model = checkpoints.load(app_env / "ae_32").model
    quantizer = compression.Quantizer.fit(latents.encode_dataset(model, ds.x_train))
    symbols = quantizer.quantize(latents.encode_dataset(model, x), 1)
    sizes, psnr, keys = curve(spec, "ae_32")
    assert keys[0] == "ae_32:b1"
    assert sizes[0] == pytest.approx(compression.stream_bytes(symbols) / 500)
    recon = latents.decode_codes(model, quantizer.dequantize(symbols, 1))
    assert psnr[0] == pytest.approx(compression.psnr_per_image(x, recon).mean(), rel=1e-4)
    assert np.all(np.diff(psnr) > 0) and np.all(np.diff(sizes) > 0)  # a frontier: more bytes, sharper
    summary = next(m.value for m in app.markdown if m.value.startswith("**On these 500 test digits.**"))
    assert "bytes per digit **" in summary
    assert app.info[0].value.startswith("**Click a point**")


def test_selecting_a_point_shows_digits_at_that_budget(app):
    app.run()
    select(app, "conv_ae_32:b4")
    assert not app.exception and not app.error
    assert app.query_params["point"] == "conv_ae_32:b4"
    heading = next(s.value for s in app.subheader if s.value.startswith("conv_ae_32"))
    assert heading.startswith("conv_ae_32, 4 bits:")
    row_labels = [m.value for m in app.markdown if m.value in ("original",) or "  \n" in m.value]
    assert row_labels[0] == "original" and row_labels[1].startswith("**conv_ae_32**")
    digits = [i for el in app.image for i in el.proto.imgs]
    assert len(digits) == compression_page.N_SHOWN * len(row_labels)
    # JPEG cannot go as low as ~14 bytes: the page says so instead of drawing it.
    assert any("Cannot go as low" in c.value and "JPEG" in c.value for c in app.caption)
    assert any("SSIM **" in m.value for m in app.markdown)


def test_a_link_with_a_point_opens_on_it_and_a_bad_one_is_ignored(app):
    app.query_params["point"] = "PCA:k32b4"
    app.run()
    assert not app.exception
    assert any(s.value.startswith("PCA, 32 components, 4 bits") for s in app.subheader)


def test_bad_point_in_the_link_gets_a_notice(page_app):
    app = page_app("compression_page")
    app.query_params["point"] = "[x](http://evil)"
    app.run()
    assert not app.exception
    assert any("Ignored" in w.value for w in app.warning)


def test_8x8_digits_work_and_pca_stays_within_64_components(app, digits_model):
    app.query_params["dataset"] = "digits"
    app.run()
    assert not app.exception and not app.error
    spec = rd_chart(app)
    names = [t["name"] for t in spec["data"]]
    assert names[0] == digits_model
    _, _, keys = curve(spec, compression.PCA)
    assert all(int(k.split(":k")[1].split("b")[0]) <= 64 for k in keys)
    assert "raw 8-bit 64 bytes" in next(c.value for c in app.caption if c.value.startswith("Lossless"))
