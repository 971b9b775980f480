"""The static leaderboard site, opened in a real headless Chromium: every entry shows, sorting works."""
import shutil

import pytest

from benchmark.leaderboard.site import markdown_table, rank_entries, render_site


def _entries():
    def m(v, w=0.05):
        return {"value": v, "ci": [v - w, v + w]}
    return [
        {"model": "ResNet-10 (reference)", "authors": ["facegen"], "metrics": {
            "accuracy": m(0.97, 0.01), "shape_bias": m(0.31), "d50_shape": m(3.4, 0.3), "d50_texture": m(1.2, 0.2),
            "shape_reliance": m(0.28), "I_shape": m(0.12, 0.01), "I_texture": m(0.31, 0.02)}},
        {"model": "shape-only control", "authors": ["facegen"], "metrics": {
            "shape_bias": m(0.99, 0.01), "d50_shape": m(1.1, 0.1), "d50_texture": m(9.0, 0.5),
            "shape_reliance": m(0.97, 0.01), "I_shape": m(0.8, 0.02), "I_texture": m(0.01, 0.01)}},
        {"model": "texture <b>only</b> | control", "authors": ["x"], "metrics": {
            "shape_bias": m(0.02, 0.01), "d50_shape": m(8.5, 0.5), "d50_texture": m(0.9, 0.1),
            "shape_reliance": m(0.03, 0.01), "I_shape": m(0.01, 0.01), "I_texture": m(0.7, 0.02)}},
    ]


def test_ranking_and_markdown():
    ranked = rank_entries(_entries())
    assert [e["model"] for e in ranked][:2] == ["shape-only control", "ResNet-10 (reference)"]
    md = markdown_table(ranked)
    assert md.count("\n") == 2 + 3 and "0.970 [0.960, 0.980]" in md
    assert "texture &lt;b&gt;only&lt;/b&gt; \\| control" in md and "<b>" not in md  # escaped, never raw HTML
    assert "| ResNet\\-10 \\(reference\\) |" in md


def test_withheld_shape_reliance_ranks_below_reported_and_shows_its_p():
    entries = _entries()
    # a noise-level model: its ratio would top the table, but I_shape + I_texture did not beat the null
    entries.append({"model": "noise", "authors": ["x"], "metrics": {
        "accuracy": {"value": 0.31, "ci": None},
        "d50_shape": {"value": 0.0, "ci": [0.0, 0.0], "low_accuracy_at_zero": True},
        "shape_reliance": {"value": None, "ci": None, "significant": False, "p_perm_total": 0.42},
        "I_shape": {"value": 0.001, "ci": [-0.01, 0.01]}}})
    entries[0]["metrics"]["shape_reliance"]["significant"] = True
    ranked = rank_entries(entries)
    assert ranked[-1]["model"] == "noise"
    md = markdown_table(ranked)
    row = next(ln for ln in md.splitlines() if "| noise |" in ln)
    assert "n.s. p = 0.42" in row and "0.00 [0.00, 0.00] !" not in row and "0.00 ! [0.00, 0.00]" in row
    # a significant value is ranked on as before
    entries[0]["metrics"]["shape_reliance"] = {"value": 0.99, "ci": [0.98, 1.0], "significant": True}
    assert rank_entries(entries)[0]["model"] == "ResNet-10 (reference)"


def test_pages_escape_html(tmp_path):
    render_site(_entries(), tmp_path)
    index = (tmp_path / "index.html").read_text()
    assert "<b>only</b>" not in index and "&lt;b&gt;only&lt;/b&gt;" in index
    assert len(list((tmp_path / "models").glob("*.html"))) == 3


def _driver():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is installed by .ci/run")
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--window-size=1200,420"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(driver), options=opts)


def test_table_in_headless_chromium_sorts(tmp_path):
    from selenium.webdriver.common.by import By

    index = render_site(_entries(), tmp_path)
    drv = _driver()
    try:
        drv.get(index.as_uri())
        def names():
            return [r.find_elements(By.TAG_NAME, "td")[1].text for r in drv.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")]
        assert names() == ["shape-only control", "ResNet-10 (reference)", "texture <b>only</b> | control"]
        header = drv.find_element(By.CSS_SELECTOR, 'th[data-col="d50_shape"]')
        header.click()
        assert names() == ["shape-only control", "ResNet-10 (reference)", "texture <b>only</b> | control"]
        header.click()  # descending
        assert names() == ["texture <b>only</b> | control", "ResNet-10 (reference)", "shape-only control"]
        drv.find_element(By.CSS_SELECTOR, 'th[data-col="accuracy"]').click()
        assert names()[0] == "ResNet-10 (reference)"  # entries without accuracy sort last
        drv.find_element(By.CSS_SELECTOR, 'th[data-col="rank"]').click()
        drv.save_screenshot(str(tmp_path / "shot.png"))
        assert (tmp_path / "shot.png").stat().st_size > 1000
        drv.find_element(By.LINK_TEXT, "ResNet-10 (reference)").click()
        assert "rank 2" in drv.find_element(By.TAG_NAME, "body").text
    finally:
        drv.quit()


def test_beyond_range_and_infinite_values_are_shown_and_sort_last(tmp_path):
    e = _entries()
    e[0]["metrics"]["d50_texture"] = {"value": None, "ci": [2.0, None], "beyond_range": True, "ci_beyond_range": True,
                                      "max_distance": 4.0}
    e[1]["metrics"]["I_shape"] = {"value": None, "ci": [None, None], "nonfinite": {"value": "inf", "low": "inf",
                                                                                     "high": "inf"}}
    md = markdown_table(e)
    assert "> 4.00 [2.00, > 4.00]" in md and "∞ [∞, ∞]" in md
    index = render_site(e, tmp_path).read_text()
    assert 'data-v="Infinity">&gt; 4.00' in index and 'data-v="Infinity">∞' in index
