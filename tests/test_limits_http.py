"""The limits as a user meets them, over HTTP, against ``python app.py`` started with small limits: the upload cap,
the queue cap, the work cap, the time cap, and cancellation by a Gradio client and by a page that closes.

A cancelled RISE's thread is seen to stop in the app's log: ``explainers.limits`` logs the model batch it stopped at.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from app_process import running_app
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError, Status

from hub_models.examples import example_photo_paths

REQUEST_SECONDS = 10
MAX_EVALUATIONS = 6000
LONG_RISE = 6000
"""RISE masks: 22 s of MobileNetV2 on a quiet 2-core machine, longer on a busy one; the time cap stops it at 10 s."""
CANCELLED = "request cancelled by its client after"
STOP_SECONDS = 10
"""A cancelled job stops at its next model batch: a fraction of a second on a quiet machine, a few on a busy one."""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app's URL and its log, started with a 1 MB upload cap, room for one waiting request, a 10 s time cap and
    a cap of 6,000 model evaluations; no result cache (every request computes)."""
    folder = tmp_path_factory.mktemp("limited-app")
    log = folder / "app.log"
    env = {
        **os.environ,
        "GRADIO_TEMP_DIR": str(folder / "gradio"),
        "XAI_MAX_UPLOAD_MB": "1",
        "XAI_QUEUE_SIZE": "1",
        "XAI_REQUEST_SECONDS": str(REQUEST_SECONDS),
        "XAI_MAX_MODEL_EVALUATIONS": str(MAX_EVALUATIONS),
        "XAI_RESULT_CACHE_SIZE": "0",
    }
    with running_app(sys.executable, [], env, log) as (url, _config):
        yield url, log


@pytest.fixture(scope="module")
def client(app):
    return Client(app[0], verbose=False)


@pytest.fixture(scope="module")
def chelsea():
    return handle_file(str(example_photo_paths()["chelsea"]))


def rise(masks: int) -> str:
    return json.dumps({"nb_samples": masks, "seed": int(time.time() * 1000) % 100000})


def started(job, timeout: float = 120) -> None:
    """Wait until ``job`` reports progress: it is running, past its first model batch."""
    deadline = time.monotonic() + timeout
    while job.status().code != Status.PROGRESS:
        assert time.monotonic() < deadline, f"the job never started: {job.status()}"
        assert not job.done(), f"the job ended before it was cancelled: {job.exception()}"
        time.sleep(0.05)


def seconds_until_logged(log: Path, text: str, count: int, timeout: float = 60) -> float:
    """Seconds until ``text`` appears ``count`` times in the app's log."""
    start = time.monotonic()
    while log.read_text().count(text) < count:
        assert time.monotonic() - start < timeout, f"{text!r} not logged {count} times:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)
    return time.monotonic() - start


def explain_quickly(client: Client, chelsea) -> float:
    """Seconds a Grad-CAM explanation takes: the next job runs."""
    begun = time.monotonic()
    overlay, *_ = client.predict(chelsea, "", "Grad-CAM", "", "{}", api_name="/explain")
    assert Path(overlay).is_file()
    return time.monotonic() - begun


def test_an_upload_above_the_cap_is_refused_with_the_limit_and_a_normal_one_is_accepted(app, client, tmp_path):
    url, _ = app
    photo = Path(example_photo_paths()["chelsea"])
    big = tmp_path / "big.png"
    big.write_bytes(os.urandom(1024 * 1024 + 1))
    with httpx.Client(base_url=f"{url}/gradio_api", timeout=60) as http:
        with photo.open("rb") as file:
            accepted = http.post("/upload", files={"files": (photo.name, file)})
        assert accepted.status_code == 200 and accepted.json()[0].endswith(photo.name)
        with big.open("rb") as file:
            refused = http.post("/upload", files={"files": (big.name, file)})
    assert refused.status_code == 413
    assert refused.text == "File size exceeded maximum allowed size of 1048576 bytes."
    assert client.config["max_file_size"] == 1048576, "the page checks it before uploading"
    with pytest.raises(ValueError, match=r"exceeds the maximum file size of 1048576 bytes"):
        client.predict(handle_file(str(big)), "", api_name="/classify")


def test_a_request_above_the_work_cap_is_refused_with_both_numbers(client, chelsea):
    with pytest.raises(AppError, match=r"needs 6,001 model evaluations; this server allows at most 6,000 per request"):
        client.predict(chelsea, "", "RISE", "", rise(MAX_EVALUATIONS + 1), api_name="/explain")


def test_a_runaway_explanation_ends_at_the_time_cap_with_a_message_and_the_next_one_runs(client, chelsea):
    begun = time.monotonic()
    with pytest.raises(AppError) as stopped:
        client.predict(chelsea, "", "RISE", "", rise(LONG_RISE), api_name="/explain")
    elapsed = time.monotonic() - begun
    message = str(stopped.value)
    assert f"at most {REQUEST_SECONDS} s (XAI_REQUEST_SECONDS)" in message, message
    assert "of about 6,000 model evaluations" in message and "the fast preset" in message
    assert REQUEST_SECONDS <= elapsed < REQUEST_SECONDS + 15
    print(f"\ntime cap {REQUEST_SECONDS} s: the message came after {elapsed:.1f} s")
    assert explain_quickly(client, chelsea) < REQUEST_SECONDS


def test_a_cancelled_job_frees_the_worker_at_its_next_batch_and_the_next_job_runs(app, client, chelsea):
    _, log = app
    before = log.read_text().count(CANCELLED)
    job = client.submit(chelsea, "", "RISE", "", rise(LONG_RISE), api_name="/explain")
    started(job)
    job.cancel()
    stopped = seconds_until_logged(log, CANCELLED, before + 1)
    next_job = explain_quickly(client, chelsea)
    print(f"\ncancel: the RISE thread stopped {stopped:.2f} s after it; the next job took {next_job:.2f} s")
    assert stopped < STOP_SECONDS


def test_a_closed_page_frees_the_worker_at_its_next_batch(app, client, chelsea):
    """The page's way in: join the queue, read the event stream until progress shows, then drop the connection."""
    url, log = app
    before = log.read_text().count(CANCELLED)
    session = uuid.uuid4().hex
    explain = next(d for d in client.config["dependencies"] if d.get("api_name") == "explain")
    with httpx.Client(base_url=f"{url}/gradio_api", timeout=60) as http:
        with Path(chelsea["path"]).open("rb") as file:
            uploaded = http.post("/upload", files={"files": ("chelsea.png", file)}).json()[0]
        image = {"path": uploaded, "meta": {"_type": "gradio.FileData"}}
        body = {
            "data": [image, "", "RISE", "", rise(LONG_RISE), "crop"],
            "fn_index": explain["id"],
            "session_hash": session,
        }
        assert http.post("/queue/join", json=body).status_code == 200
        with http.stream("GET", "/queue/data", params={"session_hash": session}) as events:
            for line in events.iter_lines():
                assert '"process_completed"' not in line, line
                if '"progress"' in line:
                    break
    stopped = seconds_until_logged(log, CANCELLED, before + 1)
    print(f"\npage closed: the RISE thread stopped {stopped:.2f} s after it")
    assert stopped < STOP_SECONDS
    assert explain_quickly(client, chelsea) < REQUEST_SECONDS


def test_a_full_queue_turns_the_next_request_away_with_busy_try_again(app, client, chelsea):
    url, log = app
    before = log.read_text().count(CANCELLED)
    running = client.submit(chelsea, "", "RISE", "", rise(LONG_RISE), api_name="/explain")
    started(running)
    waiting = client.submit(chelsea, "", "RISE", "", rise(LONG_RISE - 1), api_name="/explain")
    deadline = time.monotonic() + 30
    while waiting.status().code != Status.IN_QUEUE:
        assert time.monotonic() < deadline, waiting.status()
        time.sleep(0.05)
    with pytest.raises(QueueError, match=r"Queue is full! Please try again\."):
        Client(url, verbose=False).predict(chelsea, "", "Grad-CAM", "", "{}", api_name="/explain")
    explain = next(d for d in client.config["dependencies"] if d.get("api_name") == "explain")
    body = {"data": [None, "", "Grad-CAM", "", "{}"], "fn_index": explain["id"], "session_hash": uuid.uuid4().hex}
    refused = httpx.post(f"{url}/gradio_api/queue/join", json=body, timeout=30)
    assert refused.status_code == 503 and refused.json()["detail"].startswith("Queue is full.")
    waiting.cancel()
    running.cancel()
    seconds_until_logged(log, CANCELLED, before + 1)
    assert explain_quickly(client, chelsea) < REQUEST_SECONDS
