"""Turns explainer-layer errors into ``gr.Error`` so no traceback ever reaches the page; runs each handler as one
request within the limits of ``explainers.limits`` (its time, and whether its client still waits)."""

from __future__ import annotations

import errno
import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from demos.cancellation import client_gone
from explainers.limits import request_limits
from hub_models.errors import UserInputError

log = logging.getLogger("xai_suite")
DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
"""Write errors that say the disk (or a quota) is full whichever file it was: results, renders, uploads."""
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
        except OSError as error:
            if error.errno not in DISK_FULL:
                raise _unexpected(handler.__name__, error) from error
            log.exception("the disk is full in %s", handler.__name__)
            raise gr.Error(
                f"The server's disk is full ({error.strerror}), so this result could not be written. Try again "
                "later; the server's operator can free space or point GRADIO_TEMP_DIR to a larger disk."
            ) from error
        except Exception as error:
            raise _unexpected(handler.__name__, error) from error

    return wrapped  # type: ignore[return-value]


def _unexpected(name: str, error: Exception) -> gr.Error:
    log.exception("unexpected error in %s", name, exc_info=error)
    return gr.Error(
        f"Something went wrong inside the app ({type(error).__name__}). It was logged; "
        "try another image or method, and please report it if it persists."
    )
