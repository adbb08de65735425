"""explorer.serving.browser_id: one id per browser from Streamlit's XSRF cookie."""

import pytest

from explorer.serving import browser_id

# Two tabs of one Chromium on one server (read with Playwright): Tornado re-masks the token per page load.
FIRST_TAB = "2|41bf22a2|385e7a312774bb464dada4479f5039b0|1796350857"
SECOND_TAB = "2|80096382|f9e83b11e6c2fa668c1be5675ee67890|1796350857"
# Another browser: same format, another token.
OTHER_BROWSER = "2|41bf22a2|385e7a312774bb464dada4479f5039b1|1796350857"


def test_two_tabs_of_one_browser_get_one_id_and_another_browser_another():
    assert browser_id(FIRST_TAB) == browser_id(SECOND_TAB) is not None
    assert browser_id(OTHER_BROWSER) not in (None, browser_id(FIRST_TAB))


def test_the_id_does_not_reveal_the_token():
    token = "79e1589366cb99e40c1286e5deef1b12"  # FIRST_TAB unmasked
    assert token not in browser_id(FIRST_TAB) and len(browser_id(FIRST_TAB)) == 24


@pytest.mark.parametrize("cookie", [None, "", 42, "abc", "1|41bf22a2|385e|1", "2|zz|385e|1", "2||385e|1",
                                    "2|41bf22a2||1", "2|41bf22a2|385e7a31"])
def test_anything_else_gives_no_id(cookie):
    assert browser_id(cookie) is None
