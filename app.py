"""xai-suite: deep networks explain themselves in the browser. Assembles the tabs and launches."""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), help="interface to bind")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    parser.add_argument(
        "--root-path", default=None, help="URL prefix behind a reverse proxy, e.g. /xai (default: GRADIO_ROOT_PATH)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="never contact the Hugging Face Hub: embedded and cached models only"
    )
    return parser.parse_args(argv)


if __name__ == "__main__" and parse_args().offline:
    # huggingface_hub reads HF_HUB_OFFLINE once, when the imports below first import it.
    os.environ["HF_HUB_OFFLINE"] = "1"

from explainers.runtime import ensure_fast_allocator  # noqa: E402

PROJECT = Path(__file__).resolve().parent
os.environ.setdefault("GRADIO_TEMP_DIR", str(PROJECT / ".cache" / "gradio"))

import gradio as gr  # noqa: E402

from demos import links  # noqa: E402
from demos.cnn import warm_up_request_path  # noqa: E402
from demos.tabs import TABS  # noqa: E402
from explainers.runtime import import_xplique, trim_memory_above_budget  # noqa: E402
from hub_models.assets import DARKNET_PHOTOS  # noqa: E402
from hub_models.bootstrap import bootstrap  # noqa: E402
from hub_models.examples import example_photo_paths  # noqa: E402
from hub_models.tensorflow_runtime import import_keras_hub  # noqa: E402

TITLE = "xai-suite: explain deep networks"
log = logging.getLogger("xai_suite")


def queue_size() -> int:
    """Requests that may wait for a worker (``XAI_QUEUE_SIZE``, default 64). Gradio turns the next one away at once:
    the page says "This application is currently busy. Please try again.", a Gradio client raises "Queue is full!
    Please try again." and the raw API answers 503."""
    return max(1, int(os.environ.get("XAI_QUEUE_SIZE", "64")))


def max_upload_bytes() -> int:
    """The largest file Gradio accepts (``XAI_MAX_UPLOAD_MB``, default 50: the CSV reader's own limit, several times
    any photo); a bigger upload is refused while it arrives (413), before it is stored."""
    return int(float(os.environ.get("XAI_MAX_UPLOAD_MB", "50")) * 1024 * 1024)


def build_app() -> gr.Blocks:
    """The page: one ``gr.Tab`` per entry of the tab registry (``demos.tabs``), bound to the deep links."""
    # The example photos are served from where setup put them (the classifiers' folder holds nothing else; the
    # detection photos are named one by one), so a link can fill them into a tab's input.
    gr.set_static_paths(
        [Path(example_photo_paths()["chelsea"]).parent, *(a.path for a in DARKNET_PHOTOS.values() if a.path.is_file())]
    )
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\nPick a network, an input and a method; see why the network decided what it did.")
        built = {}
        with gr.Tabs() as tabs:
            for tab in TABS:
                with gr.Tab(tab.title, id=tab.id):
                    built[tab.id] = tab.build(app, TABS)
        links.bind(app, tabs, built)
    app.queue(default_concurrency_limit=1, max_size=queue_size())
    return app


def warm_up() -> None:
    """Do once what first requests would otherwise wait for: every tab's warm-up (the default classifier loaded and
    measured for the cost previews, an example explained and drawn; the detector; the Offering guide)."""
    warm_up_before_serving()
    warm_up_rest()


def warm_up_before_serving() -> None:
    """The warm-ups of the tabs a first click must not wait for (the CNN tab: about 2 s)."""
    started = time.perf_counter()
    for tab in TABS:
        if tab.warm_up and tab.before_serving:
            tab.warm_up()
    trim_memory_above_budget()  # the throughput probe's gradient batch is the largest allocation of the start
    log.info("tabs warmed up before serving in %.1f s", time.perf_counter() - started)


def warm_up_rest(url: str | None = None) -> None:
    """The other tabs' warm-ups and, given the app's local ``url``, Gradio's request path."""
    started = time.perf_counter()
    for tab in TABS:
        if tab.warm_up and not tab.before_serving:
            tab.warm_up()
    if url:
        try:
            warm_up_request_path(url)
        except Exception as error:  # a warm-up that cannot reach the app (a proxy-only root path) costs nothing else
            log.warning("request-path warm-up skipped: %s", error)
    log.info("background warm-up done in %.1f s", time.perf_counter() - started)
    preload_tensorflow()


def preload_tensorflow() -> None:
    """Import TensorFlow, KerasHub and Xplique behind the page, after the warm-ups (10-20 s on two cores, see
    benchmarks/RESULTS.md), so that the first Keras model or Xplique method does not wait for them; the start and the
    first PyTorch explanation never do. ``XAI_PRELOAD_TENSORFLOW=0`` leaves them to the first request that needs
    them (a server that never serves Keras models saves their ~0.5 GB)."""
    if os.environ.get("XAI_PRELOAD_TENSORFLOW", "1").strip() == "0":
        return
    started = time.perf_counter()
    try:
        import_keras_hub()
        import_xplique()
    except Exception as error:  # the request that needs them imports them again and shows the error
        log.warning("TensorFlow preload failed: %s", error)
        return
    log.info("TensorFlow, KerasHub and Xplique preloaded in %.1f s", time.perf_counter() - started)


def main() -> None:
    ensure_fast_allocator()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args()
    bootstrap()
    # The CNN tab's model is warm before the page is served: a click at once costs what every later click does (on two
    # cores a warm-up running behind a request would double its time). The rest warms up behind the page.
    warm_up_before_serving()
    app = build_app()
    _, local_url, share_url = app.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        root_path=args.root_path,
        max_file_size=max_upload_bytes(),
        prevent_thread_lock=True,
    )
    threading.Thread(target=warm_up_rest, args=(local_url,), name="warm-up", daemon=True).start()
    if args.share:
        print(
            f"Public link: {share_url}"
            if share_url
            else f"The public link could not be made (no tunnel to Gradio's share server); serving locally at "
            f"{local_url}",
            flush=True,
        )
    app.block_thread()


if __name__ == "__main__":
    main()
