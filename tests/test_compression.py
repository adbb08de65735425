"""Compression lab: quantizer, real byte counts, JPEG through Pillow, frontiers, the verdict and the chart."""

import io
import lzma

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import bottleneck_figures, compression
from explorer.compression import RatePoint
from explorer.errors import ExplorerError
from explorer.models import ModelConfig, build_model


@pytest.fixture(scope="module")
def digits():
    from explorer import data

    return data.load_dataset("digits")


@pytest.mark.parametrize("bits", compression.BITS)
def test_quantizer_round_trip_is_within_half_a_step(bits):
    rng = np.random.default_rng(bits)
    train = rng.normal(size=(400, 5)) * [1, 2, 0.1, 5, 1]
    quantizer = compression.Quantizer.fit(train)
    values = rng.uniform(train.min(0), train.max(0), size=(300, 5))
    symbols = quantizer.quantize(values, bits)
    assert symbols.dtype == np.uint8 and symbols.max() <= 2**bits - 1
    error = np.abs(quantizer.dequantize(symbols, bits) - values)
    assert np.all(error <= quantizer.step(bits) / 2 + 1e-6)
    # Values outside the training range are clipped to its ends.
    outside = quantizer.quantize(train.max(0, keepdims=True) + 10, bits)
    assert np.all(outside == 2**bits - 1)


def test_a_constant_dimension_does_not_divide_by_zero():
    quantizer = compression.Quantizer.fit(np.column_stack([np.zeros(10), np.arange(10.0)]))
    back = quantizer.dequantize(quantizer.quantize(np.array([[0.0, 4.0]]), 3), 3)
    assert back[0, 0] == 0 and abs(back[0, 1] - 4) <= 9 / 7 / 2


@pytest.mark.parametrize("bits", [0, 9])
def test_senseless_bit_depths_are_refused(bits):
    with pytest.raises(ExplorerError, match="1 to 8"):
        compression.Quantizer.fit(np.zeros((3, 2))).step(bits)


def test_stream_bytes_are_a_real_lzma_length():
    symbols = np.random.default_rng(0).integers(0, 16, (200, 8)).astype(np.uint8)
    compressed = lzma.compress(np.ascontiguousarray(symbols.T).tobytes(), format=lzma.FORMAT_RAW,
                               filters=compression.LZMA_FILTERS)
    assert compression.stream_bytes(symbols) == len(compressed)
    assert lzma.decompress(compressed, format=lzma.FORMAT_RAW, filters=compression.LZMA_FILTERS) == symbols.T.tobytes()


def pillow_jpeg(image: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.rint(image * 255).astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def test_jpeg_bytes_are_the_length_of_pillows_output(digits):
    x = digits.x_test[:20].numpy()
    points = compression.jpeg_points(x, qualities=(10, 90))
    for quality in (10, 90):
        files = [pillow_jpeg(image[0], quality) for image in x]
        whole = next(p for p in points if p.method == compression.JPEG_FILE and p.quality == quality)
        assert whole.bytes_per_digit == pytest.approx(np.mean([len(f) for f in files]))
        scans = next(p for p in points if p.method == compression.JPEG_SCAN and p.quality == quality)
        assert scans.bytes_per_digit < whole.bytes_per_digit
        assert scans.psnr == whole.psnr


def test_jpeg_headers_are_the_same_for_every_digit_so_only_the_scan_differs(digits):
    a, b = (pillow_jpeg(digits.x_test[i, 0].numpy(), 50) for i in (0, 1))
    header_a = len(a) - compression.jpeg_scan_length(a) - 2
    header_b = len(b) - compression.jpeg_scan_length(b) - 2
    assert header_a == header_b and a[:header_a] == b[:header_b]
    assert a[header_a:-2] != b[header_b:-2]
    with pytest.raises(ExplorerError):
        compression.jpeg_scan_length(b"not a jpeg")


def test_png_is_lossless_on_8_bit_pixels(digits):
    image = digits.x_test[3, 0].numpy()
    decoded = compression.decode_image(compression.png_bytes(image))
    np.testing.assert_array_equal(np.rint(decoded * 255), compression.to_uint8(image))


def test_pca_is_never_offered_more_components_than_pixels():
    assert max(compression.pca_components(64, 1437)) <= 64
    assert compression.pca_components(784, 4500)[-1] == 128
    assert max(compression.pca_components(784, 10)) <= 10


def tiny_codecs(digits):
    model = build_model(ModelConfig(kind="ae", image_shape=(1, 8, 8), latent_dim=4, hidden=(16,)), seed=0).eval()
    return compression.build_codecs({"tiny_ae": model}, digits.x_train[:300])


def test_latent_bytes_and_psnr_come_from_the_quantized_codes(digits):
    codecs = tiny_codecs(digits)
    x = digits.x_test[:40]
    codec = codecs["tiny_ae"]
    points = compression.latent_points(codec, x, bits=(2, 6))
    with torch.no_grad():
        codes = codec.model.encode(x).numpy()
    for point in points:
        symbols = codec.quantizer.quantize(codes, point.bits)
        assert point.bytes_per_digit * len(x) == compression.stream_bytes(symbols)
        with torch.no_grad():
            recon = codec.model.decode(torch.from_numpy(codec.quantizer.dequantize(symbols, point.bits))).numpy()
        mse = ((recon - x.numpy()) ** 2).reshape(len(x), -1).mean(1)
        assert point.psnr == pytest.approx(float(np.mean(10 * np.log10(1 / mse))), rel=1e-4)
        np.testing.assert_allclose(compression.reconstruct(point, codecs, x), recon, atol=1e-6)


def test_pca_reconstructs_exactly_with_every_component_and_8_bits(digits):
    codecs = tiny_codecs(digits)
    pca = codecs[compression.PCA]
    x = digits.x_test[:30].numpy()
    [point] = compression.pca_points(pca, x, components=(64,), bits=(8,))
    assert point.psnr > 35  # 64 of 64 axes: only the 8-bit rounding of the coefficients is lost
    [coarse] = compression.pca_points(pca, x, components=(2,), bits=(2,))
    assert coarse.bytes_per_digit < point.bytes_per_digit and coarse.psnr < point.psnr


def pt(method, size, psnr, bits=1):
    return RatePoint(method, "latent", size, psnr, bits=bits)


def test_frontier_keeps_only_settings_nothing_beats():
    points = [pt("m", 10, 15, 1), pt("m", 12, 14, 2), pt("m", 20, 18, 3), pt("m", 30, 18, 4)]
    assert [p.bits for p in compression.frontier(points)] == [1, 3]


def test_budget_and_target_lookups():
    points = [pt("m", 10, 15, 1), pt("m", 20, 18, 2), pt("m", 40, 21, 3)]
    assert compression.psnr_at_budget(points, 25).bits == 2
    assert compression.psnr_at_budget(points, 5) is None
    assert compression.bytes_for_psnr(points, 18).bits == 2
    assert compression.bytes_for_psnr(points, 30) is None


def test_the_summary_is_written_from_the_numbers():
    curves = {"ae": [pt("ae", 10, 18), pt("ae", 30, 20)], "PCA": [pt("PCA", 20, 16), pt("PCA", 60, 25)]}
    text = compression.summary(curves, budgets=(16, 32, 64))
    assert "At 16 and 32 bytes per digit **ae**" in text and "(18.0 dB, 20.0 dB)" in text
    assert "at 64 bytes per digit **PCA**" in text and "25.0 dB" in text
    curves["PCA"][0] = pt("PCA", 12, 19)
    assert "At 16 bytes per digit **PCA** gives the sharpest digits (19.0 dB)" in compression.summary(curves, (16,))
    assert "Nothing fits in 4 bytes" in compression.summary(curves, (4, 16))


def test_the_chart_curves_are_the_measured_points():
    curves = {"ae": [pt("ae", 10, 18, 1), pt("ae", 30, 20, 2)],
              compression.JPEG_SCAN: [RatePoint(compression.JPEG_SCAN, "jpeg", 50, 21, quality=5)]}
    fig = bottleneck_figures.rate_distortion_figure(curves, {"raw 8-bit": 64.0})
    assert [t.name for t in fig.data] == ["ae", compression.JPEG_SCAN]
    assert list(fig.data[0].x) == [10, 30] and list(fig.data[0].y) == [18, 20]
    assert [row[0] for row in fig.data[0].customdata] == ["ae:b1", "ae:b2"]
    assert fig.data[1].customdata[0][0] == "JPEG (no headers):q5"
    assert fig.layout.shapes[0].x0 == 64.0 and fig.layout.xaxis.type == "log"


def test_run_lab_on_8x8_digits(digits):
    codecs = tiny_codecs(digits)
    lab = compression.run_lab(codecs, digits.x_test[:25], qualities=(20, 80))
    assert list(lab.curves) == ["tiny_ae", compression.PCA, compression.JPEG_FILE, compression.JPEG_SCAN]
    assert lab.lossless["raw 8-bit"] == 64
    assert lab.n_digits == 25
    assert all(p.components <= 64 for p in lab.curves[compression.PCA])
    keys = [p.key for p in lab.points]
    assert len(keys) == len(set(keys))
    decoder = sum(p.numel() for p in codecs["tiny_ae"].model.decoder.parameters())
    assert lab.shared_bytes["tiny_ae"] == 4 * decoder
    # SSIM is scikit-image's, image by image, averaged.
    from skimage.metrics import structural_similarity

    x = digits.x_test[:25].numpy()
    for point in (lab.curves["tiny_ae"][-1], lab.curves[compression.JPEG_SCAN][-1]):
        [measured] = compression.with_ssim([point], codecs, x)
        recon = compression.reconstruct(point, codecs, x)
        expected = np.mean([structural_similarity(a[0], b[0], data_range=1.0) for a, b in zip(x, recon)])
        assert measured.ssim == pytest.approx(expected, abs=1e-5)
    with pytest.raises(ExplorerError, match="grayscale"):
        compression.run_lab(codecs, np.zeros((2, 3, 8, 8), np.float32))
