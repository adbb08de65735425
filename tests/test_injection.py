"""Text from outside (link parameters, uploaded file names, config fields) is shown literally everywhere:
no link, image or formatting can be injected. One crafted link per page, every parameter the page reads."""

import io
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from ui import pages
from ui.plain_text import WORD_JOINER, code, escape, for_plotly

EVIL = "evil.example"
PAYLOADS = [  # each under url_state.MAX_SHOWN_VALUE characters, so each is quoted whole in its notice
    f"[click](https://{EVIL}/a)",
    f"![img](https://{EVIL}/i.png)",
    f"<https://{EVIL}/b> www.{EVIL} me@{EVIL}",
    f"x` **bold** :smile: :red[{EVIL}]\n# {EVIL} heading",
    f"1. :material/link: {EVIL} $x$ | a | b | &lt;b&gt;",
]
# Every link parameter each page reads, from the page registry.
PAGE_PARAMS = {info.module: list(info.params) for info in pages.PAGES}
PLAIN_TEXT_ELEMENTS = ("text", "code")  # st.text and st.code show their text as it is
# Markdown that would act: an unescaped [ (link, image) or < (autolink, HTML) outside code, and anywhere
# a bare URL, www. or e-mail address (autolinked), an emoji, icon or colour shortcode, a new line (a new block).
OUTSIDE_CODE = re.compile(r"(?<!\\)[\[<]")
ANYWHERE = re.compile(r"https://|www\.|@evil|:(smile|red|material)|\n")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def acts(markdown: str) -> bool:
    """Whether this Markdown would make a link, an image, an emoji or a new block."""
    return bool(ANYWHERE.search(markdown) or OUTSIDE_CODE.search(CODE_SPAN.sub("", markdown)))


def literal(markdown: str) -> str:
    """What a Markdown string shows when it holds only escaped text or code spans: backslash escapes,
    code fences and word joiners gone."""
    def unwrap(span):  # CommonMark drops one space on each side of a code span's content, if both have one
        inside = span.group(2)
        return inside[1:-1] if len(inside) > 2 and inside[0] == inside[-1] == " " and inside.strip() else inside

    shown = CODE_SPAN.sub(unwrap, markdown)
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", shown).replace(WORD_JOINER, "")


def proto_strings(message) -> list[str]:
    """Every string a protobuf message holds, nested messages included."""
    found = []
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        if field.type == field.TYPE_STRING:
            found += list(values)
        elif field.type == field.TYPE_MESSAGE:
            for item in values:
                found += proto_strings(item)
    return found


def shown_strings(app) -> list[str]:
    """Every string sent to the browser by an element that renders Markdown (sidebar included)."""
    found = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            walk(child)
        proto = getattr(node, "proto", None)
        if proto is not None and not hasattr(node, "children") and node.type not in PLAIN_TEXT_ELEMENTS:
            found.extend(proto_strings(proto))

    walk(app._tree)
    return found


def assert_nothing_injected(strings: list[str]) -> None:
    for text in strings:
        if EVIL in text:
            assert not acts(text), text


# ---------------------------------------------------------------- the escaping itself


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("show", [escape, code])
def test_escaped_text_shows_exactly_the_text(payload, show):
    shown = show(payload)
    assert literal(shown) == payload.replace("\n", " ")
    assert not acts(shown)


def test_long_values_are_cut():
    assert literal(escape("a" * 200, limit=10)) == "a" * 10 + "…"


def test_checkpoint_names_need_no_escaping_beyond_underscores():
    """check_name allows letters, digits, '-' and '_': such a name shows as it is, escaped or not."""
    from explorer import checkpoints

    for name in ("vae_32", "a-b", "x__init__", "1-2", "w_w_w"):
        assert checkpoints.name_problem(name) is None
        assert literal(escape(name)) == name


def test_plotly_text_is_shown_as_typed():
    assert for_plotly('<a href="https://evil.example">x</a><br>') == '&lt;a href="https://evil.example"&gt;x&lt;/a&gt;&lt;br&gt;'


# ---------------------------------------------------------------- link parameters, every page


@pytest.mark.slow
@pytest.mark.parametrize("page", list(PAGE_PARAMS))
def test_a_crafted_link_injects_nothing_on_any_page(page, page_app):
    app = page_app(page)
    sent = {}
    for i, param in enumerate(PAGE_PARAMS[page]):
        sent[param] = PAYLOADS[i % len(PAYLOADS)]
        app.query_params[param] = sent[param]
    app.query_params["unknown"] = PAYLOADS[0]  # a parameter no page reads changes nothing
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    strings = shown_strings(app)
    assert_nothing_injected(strings)
    for param, payload in sent.items():  # each bad value is named in its notice, exactly as it was typed
        if param != "job":  # a job that is not on the server: the page says so without quoting the link
            assert any(f"{param}={payload.replace(chr(10), ' ')}" in literal(s) for s in strings), param


@pytest.mark.slow
def test_the_whole_app_with_a_crafted_link(whole_app):
    whole_app.query_params.update({"model": PAYLOADS[0], "ids": PAYLOADS[1]})
    whole_app.run()
    assert not whole_app.exception
    assert_nothing_injected(shown_strings(whole_app))


# ---------------------------------------------------------------- file names and config fields


def png_named_digit() -> bytes:
    image = np.zeros((40, 40), dtype=np.uint8)
    image[8:32, 18:23] = 255
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.slow
def test_uploaded_picture_names_inject_nothing(page_app):
    app = page_app("anomaly_page").run()
    bad_name, good_name = f"[x](https://{EVIL}).png", f'<a href="https://{EVIL}">1</a>.png'
    app.file_uploader(key="an_upload").set_value([(bad_name, b"not a picture", "image/png"),
                                                  (good_name, png_named_digit(), "image/png")]).run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and literal(errors[0]).startswith(f"**{bad_name}**: ")
    assert_nothing_injected(errors)
    layout = json.loads(app.get("plotly_chart")[-1].proto.spec)["layout"]
    captions = [text for axis in layout.values() if isinstance(axis, dict) for text in axis.get("ticktext", [])]
    assert len(captions) == 1 and captions[0].startswith(for_plotly(good_name[:18]) + "<br>")
    assert "<a" not in captions[0]


def break_config(folder, change) -> None:
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.slow
def test_a_checkpoint_problem_quoting_its_config_injects_nothing(page_app, app_env):
    shutil.copytree(app_env / "vae_2", app_env / "doomed")
    try:
        app = page_app("map_page")
        app.query_params["model"] = "doomed"
        app.run()
        break_config(app_env / "doomed", lambda c: c["model"].update(kind=f"[x](https://{EVIL})"))
        app.run()
        warnings = [w.value for w in app.warning]
        assert any("can no longer be used" in w and EVIL in w for w in warnings), warnings
        assert_nothing_injected(shown_strings(app))
    finally:
        shutil.rmtree(app_env / "doomed")


@pytest.mark.slow
def test_ladder_config_fields_inject_nothing(page_app, app_env):
    original = (app_env / "vae_beta_1" / "config.json").read_text()
    try:
        key = "**bold** ![img](https://evil-example/i)"  # no dots: the page names a setting by its last part
        break_config(app_env / "vae_beta_1", lambda c: c["training"].update({key: 1}))
        app = page_app("train_page").run()
        assert not app.exception
        warnings = [w.value for w in app.warning if "differ in more than β" in w.value]
        assert len(warnings) == 1 and key in literal(warnings[0])
        assert not acts(warnings[0])
    finally:
        (app_env / "vae_beta_1" / "config.json").write_text(original)


# ---------------------------------------------------------------- in Chromium


URL_PATHS = {info.module: info.url_path for info in pages.PAGES}


@pytest.mark.browser
@pytest.mark.slow
def test_a_crafted_link_shows_no_link_or_image_in_chromium(app_url, page):
    from urllib.parse import urlencode, urlparse

    from browser import open_page, screenshot

    requested = []
    page.on("request", lambda request: requested.append(request.url))
    for module, path in URL_PATHS.items():
        params = {param: PAYLOADS[i % len(PAYLOADS)] for i, param in enumerate(PAGE_PARAMS[module])}
        open_page(page, f"{app_url}/{path}?{urlencode(params)}")
        assert page.locator(f'a[href*="{EVIL}"], img[src*="{EVIL}"]').count() == 0, module
        shown = page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
        for param, payload in params.items():
            if param != "job":
                assert any(f"{param}={payload.replace(chr(10), ' ')}" in text.replace(WORD_JOINER, "")
                           for text in shown), (module, param, shown)
        if module == "map_page":
            screenshot(page, "crafted_link_map")
    assert not [url for url in requested if EVIL in (urlparse(url).hostname or "")]  # nothing fetched from there
