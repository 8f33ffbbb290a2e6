"""End to end: `python run.py viz` on a free loopback port, opened in headless Chromium (Debian's
chromium and chromedriver, driven by selenium). The map and the charts render, the clock reads
HH:MM with the day, Step moves it on, every slider shows its value, and a screenshot is kept as
the test's artefact (its path is printed)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("solara") is None
                       or importlib.util.find_spec("selenium") is None,
                       reason="the ui extra is not installed (pip install -e '.[ui]')"),
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="Debian's chromium and chromium-driver are not installed "
                              "(apt-get install chromium chromium-driver)"),
]

SETS = ["end=09:00", "traffic.daily_trips=0", "traffic.external=[]", "traffic.through=[]"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the viz server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s")


@pytest.fixture
def viz_server(tmp_path):
    from sim.viz.assets import ensure_assets

    try:
        ensure_assets()
    except RuntimeError as exc:
        pytest.skip(f"the page's browser files are not available offline: {exc}")
    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    cmd = [sys.executable, "run.py", "viz", "som1_day", "--port", str(port), "--start", "07:00"]
    for s in SETS:
        cmd += ["--set", s]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_http(url, proc, 90)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its solara child
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1500,1300",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def _image_loaded(driver, css: str) -> bool:
    return bool(driver.execute_script(
        "const i = document.querySelector(arguments[0]);"
        "return i !== null && i.complete && i.naturalWidth > 200;", css))


def _texts(driver) -> str:
    return driver.execute_script("return document.body.innerText;")


def test_control_centre_in_chromium(viz_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(viz_server)
    wait = WebDriverWait(browser, 120, poll_frequency=0.5)
    wait.until(lambda d: _image_loaded(d, ".summit-map img"))
    wait.until(lambda d: _image_loaded(d, ".summit-charts img"))
    clock = browser.find_element(By.CSS_SELECTOR, ".summit-clock")
    assert clock.text == "07:00"  # HH:MM, with the scenario's day beside it
    assert browser.find_element(By.CSS_SELECTOR, ".summit-day").text == "Wed 26 Feb 2025"
    # every slider of the scenario's parameters shows its value in its label
    text = _texts(browser)
    for label in ("Minutes per step: 5", "Shuttle fleet: ×1.00", "Traffic demand: ×1.00"):
        assert label in text
    # Mesa's own sliders show theirs in the thumb; its raw model.time readout is hidden
    def thumbs(d):
        return d.execute_script(
            "return [...document.querySelectorAll('.v-navigation-drawer .v-slider-thumb')]"
            ".map(t => [t.getAttribute('aria-valuenow'), getComputedStyle(t, '::after')"
            ".content]);")

    # (the page's style sheet may arrive a moment after the pictures)
    wait.until(lambda d: ["401", '"401"'] in thumbs(d))
    assert ["1", '"1"'] in thumbs(browser)  # play interval, render interval
    assert "Time: 25200" not in _texts(browser)
    step = browser.find_element(By.XPATH, "//button[normalize-space(.)='Step']")
    step.click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".summit-clock").text != "07:00")
    assert browser.find_element(By.CSS_SELECTOR, ".summit-clock").text == "07:05"
    wait.until(lambda d: _image_loaded(d, ".summit-map img"))
    # moving a slider (keyboard: one step right) changes the value its label shows
    thumb = browser.find_element(
        By.XPATH, "//*[contains(normalize-space(.), 'Minutes per step: 5')]"
                  "/ancestor::*[contains(@class, 'v-input')][1]//*[@role='slider']")
    thumb.send_keys(Keys.ARROW_RIGHT)
    wait.until(lambda d: "Minutes per step: 6" in _texts(d))
    shot = tmp_path / "control_centre.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000
    print(f"screenshot of the control centre: {shot}")
