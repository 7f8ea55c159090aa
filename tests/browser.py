"""Helpers for the browser tests: accessibility checks and phone-width layout checks."""
from axe_playwright_python.sync_playwright import Axe

PHONE = {"width": 375, "height": 740}
_axe = Axe()


def serious_accessibility_faults(page) -> list[str]:
    """axe-core's serious and critical WCAG 2 A/AA violations on the page, one line each."""
    results = _axe.run(
        page,
        options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}},
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def overflows_sideways(page) -> bool:
    """True when the page is wider than the viewport, so a phone user must scroll sideways."""
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
