"""One way to refuse: a service raises `Refusal`, and a view shows it with `pages.show_refusal`.

A refusal is an action the person cannot take, said so they can act on it: "That seat was taken
a moment ago; choose another time." It is never a defect (those are exceptions of their own and
end in the error page) and never a validation the form already does (WTForms says
those beside its fields). Services raise it before they change anything or after rolling back,
so the database is as it was.

Every package raises `Refusal` itself: no caller needs to tell one package's refusal from
another's, and every view catches `Refusal` and shows it the same way. (A package may name a
subclass the day a caller must tell its refusals apart.) Parse errors that a view turns into a
400 (`MonthError`, `DocumentError`), configuration errors and a malformed optimizer problem are
not refusals and keep their own classes.
"""

from __future__ import annotations

from collections.abc import Mapping

# The key of a problem that concerns the whole form rather than one of its fields.
WHOLE_FORM = ""


class Refusal(Exception):
    """An action refused, with the message shown to the person as it is.

    `problems` maps a form field's name to what is wrong with it, for a form that puts each
    message under its field; the message is then those problems joined, unless one is given.
    """

    def __init__(self, message: str | None = None, *, problems: Mapping[str, str] | None = None):
        self.problems: dict[str, str] = dict(problems or {})
        if message is None:
            if not self.problems:
                raise ValueError("a refusal says why: give a message or problems")
            message = " ".join(self.problems.values())
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message
