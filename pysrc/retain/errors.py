"""One error type for everything the user did or the target lacks."""

import gdb


class RetainError(gdb.GdbError):
    """Shown to the user as one line, prefixed ``retain:``, no traceback."""

    def __init__(self, message):
        super().__init__("retain: " + message)
