"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by
selenium, for the review page.

The service under test runs in this test's event loop (emulator, ingress, worker, the
review page), so every call into the browser, which blocks, runs in a thread: the loop
keeps serving the pages Chromium asks for meanwhile. Waits are explicit, each with a
deadline.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.review_web.conftest import start_review, visitor  # noqa: F401
from tests.worker.conftest import start_stack  # noqa: F401

# A bound on each wait for the page, not an assertion about its speed.
WAIT_SECONDS = 60
T = TypeVar("T")


def chromium_paths() -> tuple[str, str]:
    browser = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    driver = (
        os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
    )
    for path, package in ((browser, "chromium"), (driver, "chromium-driver")):
        if not Path(path).exists():
            pytest.fail(f"{path} not found: apt-get install -y {package} (.ci/run does)")
    return browser, driver


class Browser:
    """One Chromium window on the review page at ``base``."""

    def __init__(self, driver: webdriver.Chrome, base: str) -> None:
        self.driver = driver
        self.base = base

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.to_thread(call)

    async def go(self, path: str) -> None:
        await self._run(lambda: self.driver.get(self.base + path))

    async def path(self) -> str:
        url: str = await self._run(lambda: self.driver.current_url)
        return url.removeprefix(self.base)

    async def find(self, css: str) -> WebElement:
        """The element, once it is on the page."""

        def present(driver: Any) -> WebElement | bool:
            found = driver.find_elements(By.CSS_SELECTOR, css)
            return found[0] if found else False

        return await self._run(
            lambda: WebDriverWait(self.driver, WAIT_SECONDS).until(present, f"no {css} on the page")
        )

    async def text(self, css: str) -> str:
        element = await self.find(css)
        return await self._run(lambda: element.text)

    async def type(self, css: str, text: str) -> None:
        element = await self.find(css)
        await self._run(element.clear)
        await self._run(lambda: element.send_keys(text))

    async def click(self, css: str) -> None:
        element = await self.find(css)
        await self._run(element.click)

    async def wait_for_text(self, css: str, words: str) -> str:
        """The text of ``css`` once it contains ``words`` (a new page loads meanwhile)."""

        def shows(driver: Any) -> str | bool:
            try:
                found = driver.find_elements(By.CSS_SELECTOR, css)
                texts = [element.text for element in found]
            except WebDriverException:
                return False  # the page changed under us: look again
            return next((t for t in texts if words in t), False)

        return await self._run(
            lambda: WebDriverWait(self.driver, WAIT_SECONDS).until(
                shows, f"no {css} saying {words!r}"
            )
        )

    async def wait_for_path(self, prefix: str) -> str:
        def there(driver: Any) -> bool:
            return str(driver.current_url).removeprefix(self.base).startswith(prefix)

        await self._run(
            lambda: WebDriverWait(self.driver, WAIT_SECONDS).until(there, f"never at {prefix}")
        )
        return await self.path()

    async def script(self, code: str) -> Any:
        return await self._run(lambda: self.driver.execute_script(code))

    async def screenshot(self, target: Path) -> None:
        """The whole page, as tall as it is."""
        height = int(await self.script("return document.documentElement.scrollHeight"))
        await self._run(lambda: self.driver.set_window_size(1280, max(700, height + 160)))
        target.parent.mkdir(parents=True, exist_ok=True)
        await self._run(lambda: self.driver.save_screenshot(str(target)))
        await self._run(lambda: self.driver.set_window_size(1280, 900))

    async def forget_cookies(self) -> None:
        await self._run(self.driver.delete_all_cookies)


OpenBrowser = Callable[[str], Awaitable[Browser]]


@pytest.fixture
async def open_browser(tmp_path: Path) -> AsyncIterator[OpenBrowser]:
    """``browser = await open_browser(review.url)``: a fresh Chromium profile each."""
    binary, driver_path = chromium_paths()
    drivers: list[webdriver.Chrome] = []

    async def start(base: str) -> Browser:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        profile = tmp_path / f"chromium-profile-{len(drivers)}"
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--force-device-scale-factor=1",
            "--window-size=1280,900",
            "--lang=en-US",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        driver = await asyncio.to_thread(
            lambda: webdriver.Chrome(options=options, service=Service(driver_path))
        )
        drivers.append(driver)
        driver.set_page_load_timeout(WAIT_SECONDS)
        return Browser(driver, base)

    yield start
    for driver in drivers:
        await asyncio.to_thread(driver.quit)


def screenshot_dir() -> Path | None:
    """``B24DD_SCREENSHOTS=docs/screenshots`` (make test-browser): where the pages'
    pictures go; none are taken without it."""
    raw = os.environ.get("B24DD_SCREENSHOTS")
    return Path(raw) if raw else None
