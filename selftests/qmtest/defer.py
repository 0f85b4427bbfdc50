"""Order-safe cleanup, in the spirit of the kernel selftests' defer()."""
from __future__ import annotations

import traceback
from typing import Any, Callable


class DeferStack:
    """Callables run in reverse order of registration.

    Every callable runs even if an earlier one failed; failures are collected
    and raised together, so a broken cleanup is reported and never hidden.
    """

    def __init__(self) -> None:
        self._stack: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._stack.append((fn, args, kwargs))

    def run(self) -> None:
        errors: list[str] = []
        while self._stack:
            fn, args, kwargs = self._stack.pop()
            try:
                fn(*args, **kwargs)
            except Exception:  # noqa: BLE001 - collected and re-raised below
                errors.append(traceback.format_exc())
        if errors:
            raise RuntimeError("cleanup failed:\n" + "\n".join(errors))
