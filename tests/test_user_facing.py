"""The UI layer's last line: whatever a handler raises reaches the page as a message a user can act on."""

from __future__ import annotations

import errno

import gradio as gr
import pytest

from demos.errors import user_facing
from hub_models.errors import UserInputError


def failing(error: BaseException):
    @user_facing
    def handler() -> None:
        raise error

    return handler


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (UserInputError("Upload a photo first."), r"Upload a photo first\."),
        (MemoryError(), "needs more memory than this server has"),
        (OSError(errno.ENOSPC, "No space left on device"), r"disk is full \(No space left on device\).*Try again"),
        (OSError(errno.EFBIG, "File too large"), r"disk is full \(File too large\)"),
        (OSError(errno.ECONNRESET, "reset"), r"Something went wrong inside the app \(ConnectionResetError\)"),
        (RuntimeError("shape mismatch in layer 3"), r"Something went wrong inside the app \(RuntimeError\)"),
    ],
)
def test_every_error_becomes_a_message_without_internals(error, message):
    with pytest.raises(gr.Error, match=message) as raised:
        failing(error)()
    assert "layer 3" not in str(raised.value) and "Traceback" not in str(raised.value)
