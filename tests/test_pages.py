"""Every page in the page registry (ui/pages.py): it opens, and a bad value in any of its link parameters
is ignored with a notice naming it, leaving every control as a link without it would."""

import pytest

from ui import pages

# One of these per parameter, in turn: a path, a negative, an overflow and a word, none valid anywhere.
BAD_VALUES = ("../../etc", "-1", "1e999", "many")
WIDGETS = ("selectbox", "multiselect", "slider", "select_slider", "number_input", "radio", "toggle", "checkbox")
LINKED = [info for info in pages.PAGES if info.module != "train_page"]  # its only parameter names a job: tested there


def controls(app) -> dict:
    """Every keyed control's value."""
    return {w.key: w.value for kind in WIDGETS for w in getattr(app, kind) if w.key}


def test_the_registry_matches_the_navigation(whole_app):
    whole_app.run()
    assert not whole_app.exception and whole_app.title[0].value == pages.PAGES[0].title
    assert len({info.url_path for info in pages.PAGES}) == len(pages.PAGES)
    assert [info.module for info in pages.PAGES if not info.url_path] == [pages.PAGES[0].module]


@pytest.mark.parametrize("info", LINKED, ids=[info.module for info in LINKED])
def test_a_bad_link_parameter_is_ignored_with_a_notice(page_app, info):
    clean = page_app(info.module).run()
    assert not clean.exception and clean.title[0].value == info.title
    expected = controls(clean)
    for i, param in enumerate(info.params):
        bad = BAD_VALUES[i % len(BAD_VALUES)]
        app = page_app(info.module)
        app.query_params[param] = bad
        app.run()
        assert not app.exception, (param, bad)
        assert any("Ignored" in w.value and param in w.value for w in app.warning), (param, bad)
        assert controls(app) == expected, (param, bad)


def test_a_training_jobs_child_process_runs_the_app_file_without_drawing_anything():
    """multiprocessing's forkserver runs the parent's main script (app.py under `streamlit run`) again in each
    job's child as __mp_main__; anything it drew there (without a Streamlit session) could kill the child."""
    import runpy

    from conftest import ROOT

    namespace = runpy.run_path(str(ROOT / "app.py"), run_name="__mp_main__")
    assert callable(namespace["main"])
