"""The one exception type a user ever sees.

Raised where a problem is detected (a bad image, an unknown method, an out-of-range parameter), with a message that
names what was wrong and what to do. The demos layer turns it into ``gr.Error``; anything else is a bug.
"""


class UserInputError(ValueError):
    """A problem with what the user asked for, described in words the user can act on."""
