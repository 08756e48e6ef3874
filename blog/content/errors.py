"""The one error type the content pipeline raises for a file it cannot use."""


class ContentError(Exception):
    """A problem with a source file, worded for the author who has to fix it."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message
