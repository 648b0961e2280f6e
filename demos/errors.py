"""Turns explainer-layer errors into ``gr.Error`` so no traceback ever reaches the page; runs each handler as one
request within the limits of ``explainers.limits`` (its time, and whether its client still waits)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from demos.cancellation import client_gone
from explainers.limits import request_limits
from hub_models.errors import UserInputError

log = logging.getLogger("xai_suite")
Handler = TypeVar("Handler", bound=Callable[..., Any])


def user_facing(handler: Handler) -> Handler:
    """A user's mistake (or a request stopped by its limits) becomes its own message; anything else is logged and
    reported without internals."""

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            with request_limits(client_gone):
                return handler(*args, **kwargs)
        except gr.Error:
            raise
        except UserInputError as error:
            raise gr.Error(str(error), print_exception=False) from error
        except MemoryError as error:
            raise gr.Error("That request needs more memory than this server has: lower the parameters.") from error
        except Exception as error:
            log.exception("unexpected error in %s", handler.__name__)
            raise gr.Error(
                f"Something went wrong inside the app ({type(error).__name__}). It was logged; "
                "try another image or method, and please report it if it persists."
            ) from error

    return wrapped  # type: ignore[return-value]
