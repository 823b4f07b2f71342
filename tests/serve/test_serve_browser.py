"""The page in a real browser: headless Chromium (the system's, never a downloaded one) with
a fake microphone playing a caller's speech, against `serve` on the local server. The
caller is heard, a tool runs on the server, the call is handed off, an approval is clicked,
and the transcript shows it all."""

from __future__ import annotations

import shutil
from pathlib import Path

from needs import need
from playwright.async_api import Page, async_playwright
from serve_harness import SECRET, served

from agentkit import audio

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]
LINE = "I would like a refund for order forty two please."
TIMEOUT_MS = 20_000


def _caller_wav(folder: Path) -> Path:
    """One spoken line between silences, at 48 kHz (what Chromium's capture runs at)."""
    rate = 48_000
    speech = audio.synthesize_speech(LINE, sample_rate=rate, engine="espeak")
    silence = b"\x00\x00" * rate
    path = folder / "caller.wav"
    audio.write_wav(path, silence + speech + silence, rate=rate)
    return path


async def _texts(page: Page, selector: str) -> list[str]:
    return [text.strip() for text in await page.locator(selector).all_inner_texts()]


async def test_a_browser_call_hears_the_caller_runs_tools_hands_off_and_takes_an_approval(tmp_path: Path) -> None:
    need(Path(CHROMIUM).exists(), "chromium")
    need(shutil.which("espeak-ng") is not None, "espeak-ng")
    wav = _caller_wav(tmp_path)
    async with served() as web, async_playwright() as playwright:
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=[*ARGS, f"--use-file-for-fake-audio-capture={wav}%noloop"],
            viewport={"width": 1200, "height": 900},
        )
        try:
            page = browser.pages[0] if browser.pages else await browser.new_page()
            await page.goto(f"{web.url}/")
            await page.wait_for_selector("#graph g.node.active[data-agent='desk']")
            await page.click("#connect")
            await page.wait_for_selector("#status[data-state='live']", timeout=TIMEOUT_MS)
            # The agent greets, the caller speaks; the server's tool runs, the call moves on.
            await page.wait_for_selector("li.msg.user:not(.partial)", timeout=TIMEOUT_MS)
            approve = page.locator("li.crumb[data-tool='issue_refund'] button.approve")
            await approve.wait_for(timeout=TIMEOUT_MS)
            (issue_refund,) = web.runner.agents["refunds"].tools
            refunds = issue_refund.func.__globals__["REFUNDS"]  # the tools module's record
            assert refunds == []
            await approve.click()
            await page.wait_for_selector("li.msg.assistant:has-text('on its way')", timeout=TIMEOUT_MS)
            await page.screenshot(path=str(tmp_path / "call.png"), full_page=True)

            assert await _texts(page, "li.msg.user .text") == [LINE]
            assistant = await _texts(page, "li.msg.assistant .text")
            assert assistant[0] == "Hello, this is the help desk." and "$19.99 is on its way" in assistant[-1]
            lookup = page.locator("li.crumb[data-tool='lookup_order']")
            assert await lookup.get_attribute("data-state") == "done"
            assert "headphones" in await lookup.inner_text()  # the tool's result, from the server
            assert await _texts(page, "li.crumb.handoff") == ["⇄ desk → refunds"]
            refund = page.locator("li.crumb[data-tool='issue_refund']")
            assert await refund.get_attribute("data-decision") == "approved"
            assert refunds == ["42"]  # it ran on the server, once
            assert await page.get_attribute("#graph g.node.active", "data-agent") == "refunds"
            logged = await _texts(page, "#log .kind")
            assert "input_audio_buffer.speech_started" in logged  # the caller's speech was heard
            assert "tool_call_progress" in logged  # arguments streamed in before the call ran
            assert (await page.inner_text("#m-latency")).endswith("1 turn)")
            assert SECRET not in await page.content()
            assert (tmp_path / "call.png").stat().st_size > 10_000
            hangups: list[int] = []
            page.on("response", lambda r: hangups.append(r.status) if r.url.endswith("/hangup") else None)
            await page.click("#connect")  # hang up
            await page.wait_for_selector("#status[data-state='idle']", timeout=TIMEOUT_MS)
            assert hangups == [204]  # ended at the service and on the server, by the page
            assert web.app.state.serve.calls.live == {}
            assert await _texts(page, "li.crumb.error") == []
        finally:
            await browser.close()
