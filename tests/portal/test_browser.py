"""The portal in a real browser: headless Chromium from Debian (``chromium``, ``chromium-driver``)
driven by Selenium against a live server thread.

The live server runs its own app on its own SQLite file (built by the migrations), so it never
shares the test transaction of the other tests. Skipped, with the reason, when Chromium is not
installed; ``.ci/run`` installs it and sets ``PORTAL_BROWSER_TESTS_REQUIRED=1``, which turns the
skip into a failure.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRED = os.environ.get("PORTAL_BROWSER_TESTS_REQUIRED") == "1"

pytestmark = [pytest.mark.browser, pytest.mark.real_commits]


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.exists(path) or shutil.which(path)):
            return f"{path} is not installed (apt-get install -y chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A live server on 127.0.0.1 with the factories' world and one measurement."""
    reason = _missing()
    if reason:
        if REQUIRED:
            pytest.fail(f"browser tests are required here but {reason}")
        pytest.skip(reason)
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from posyandu import create_app
    from posyandu.config import TESTING_OVERRIDES
    from posyandu.extensions import db
    from tests import factories

    folder = tmp_path_factory.mktemp("live")
    app = create_app({**TESTING_OVERRIDES, "TESTING": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'live.db'}"})
    app.instance_path = str(folder)
    with app.app_context():
        upgrade()
        world = factories.build_world()
        db.session.commit()
        ids = {"child_a1": world.child_a1.id, "admin_headers": factories.headers(world.admin)}
    with app.test_request_context():
        pass
    client = app.test_client()
    today = date.today()
    response = client.post("/api/v1/measurements", headers=ids["admin_headers"], json={
        "id": str(uuid.uuid4()), "child_id": str(ids["child_a1"]), "measured_on": today.replace(day=1).isoformat(),
        "weight_kg": 10.5, "length_cm": 80.0, "measure_method": "standing"})
    assert response.status_code == 201, response.get_data(as_text=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "child_a1": ids["child_a1"]}
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser(live, tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--lang=id-ID"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "intl.accept_languages": "id-ID,id"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.implicitly_wait(5)
    driver.downloads = Path(downloads)
    yield driver
    driver.quit()


def _by():
    from selenium.webdriver.common.by import By
    return By


def test_portal_in_a_browser(live, browser):
    By = _by()
    base = live["url"]
    browser.get(base + "/portal/month")
    assert "/portal/login" in browser.current_url  # not signed in yet

    # sign in as the puskesmas officer
    browser.find_element(By.ID, "login").send_keys("bidan.kebomas")
    from tests.factories import PASSWORD
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "sign-in").click()

    # the month at a glance: one row per posyandu of the puskesmas
    table = browser.find_element(By.ID, "glance")
    assert browser.current_url.endswith("/portal/month")
    text = table.text
    assert "Posyandu Melati" in text and "Posyandu Mawar" in text and "Posyandu Anggrek" not in text
    assert "Bulan ini sekilas" in browser.page_source

    # follow a child from a follow-up list (Ahmad Fauzi has overdue immunizations)
    browser.find_element(By.LINK_TEXT, "Daftar tindak lanjut").click()
    browser.find_element(By.PARTIAL_LINK_TEXT, "Ahmad Fauzi").click()
    assert browser.find_element(By.ID, "child-name").text == "Ahmad Fauzi"
    assert "80" in browser.find_element(By.ID, "growth-table").text
    assert browser.find_element(By.ID, "schedule").text
    images = browser.find_elements(By.CSS_SELECTOR, "figure.chart img")
    assert images
    browser.execute_script("arguments[0].scrollIntoView()", images[0])
    deadline = time.monotonic() + 20
    loaded = False
    while not loaded and time.monotonic() < deadline:
        loaded = browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", images[0])
        time.sleep(0.2)
    assert loaded, "the KMS chart did not load"

    # download an xlsx from a report page
    browser.get(base + "/portal/reports/immunization-coverage")
    browser.find_element(By.ID, "download-xlsx").click()
    deadline = time.monotonic() + 30
    files = []
    while time.monotonic() < deadline:
        files = [p for p in browser.downloads.glob("*.xlsx")]
        if files and not list(browser.downloads.glob("*.crdownload")):
            break
        time.sleep(0.2)
    assert files, "no workbook was downloaded"
    import openpyxl
    workbook = openpyxl.load_workbook(files[0])
    assert workbook.sheetnames

    # switch language
    browser.get(base + "/portal/month")
    from selenium.webdriver.support.ui import WebDriverWait
    browser.find_element(By.ID, "switch-language").click()
    WebDriverWait(browser, 10).until(lambda d: "The month at a glance" in d.page_source)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    browser.find_element(By.ID, "switch-language").click()
    WebDriverWait(browser, 10).until(lambda d: "Bulan ini sekilas" in d.page_source)

    # a wrong-scope URL: another puskesmas's area, and another puskesmas's child
    browser.get(base + "/portal/month?level=puskesmas&code=P3525020101")
    assert browser.find_element(By.ID, "not-found").text == "Halaman tidak ditemukan"

    # sign out: the pages need a sign-in again
    browser.get(base + "/portal/month")
    browser.find_element(By.ID, "sign-out").click()
    WebDriverWait(browser, 10).until(lambda d: "Anda sudah keluar" in d.page_source)
    browser.get(base + "/portal/month")
    assert "/portal/login" in browser.current_url
