"""The one exception type a user ever sees.

Raised where a problem is detected (a bad image, an unknown method, an out-of-range parameter), with a message that
names what was wrong and what to do. The demos layer turns it into ``gr.Error``; anything else is a bug.
"""


class UserInputError(ValueError):
    """A problem with what the user asked for, described in words the user can act on."""


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` for a message, cut to about ``limit`` characters: a message quotes what was wrong, never a
    megabyte of it."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text):,} characters)"
