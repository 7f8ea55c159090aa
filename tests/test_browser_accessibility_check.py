"""The accessibility check the browser tests rely on still sees faults: every page test asserts
it finds none, which an axe run set up to look at nothing would also give."""

import pytest

from .browser import serious_accessibility_faults

pytestmark = pytest.mark.browser

FAULTY_PAGE = """<!doctype html><html lang="en"><head><title>Faults</title></head><body><main>
<h1>Faults</h1><input type="text"><p style="color:#ccc;background:#fff">Faint text</p>
<img src="/nowhere.png"></main></body></html>"""


@pytest.mark.database_independent
def test_the_check_names_each_serious_fault_once(page):
    page.set_content(FAULTY_PAGE)
    faults = serious_accessibility_faults(page)
    assert [fault.split(" ")[0] for fault in faults] == ["color-contrast", "image-alt", "label"]
    assert "at [['img']]" in faults[1]
