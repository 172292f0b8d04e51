"""Typing contract: ``rate_limit`` as a decorator keeps the signature; as a context
manager it is the ``RateLimit`` itself.

Expected-error lines carry ``# type: ignore[code]  # pyright: ignore[rule]`` (see
check_tasks.py); ``rejected_*`` functions are never called.
"""

from __future__ import annotations

from typing import assert_type

from huey import MemoryHuey, Result, TaskWrapper
from huey.api import RateLimit
from huey.exceptions import RateLimitExceeded

huey = MemoryHuey("typing-ratelimit", immediate=True)


@huey.task()
@huey.rate_limit("pages", limit=1000, per=60)
def fetch_page(url: str, *, timeout: float = 10.0) -> bytes:
    """A rate-limited task keeps its signature."""
    return url.encode()


@huey.rate_limit("plain", limit=5, per=1)
def plain(count: int) -> list[int]:
    """A rate-limited plain function keeps its signature too."""
    return list(range(count))


def check_decorator_keeps_the_signature() -> None:
    """The task built over a rate-limited function is typed from the function."""
    checked: TaskWrapper[[str], bytes] = fetch_page
    assert_type(fetch_page("https://example.com", timeout=2.0), Result[bytes])
    assert_type(checked("https://example.com"), Result[bytes])
    assert_type(plain(3), list[int])
    assert fetch_page("a").get(blocking=True) == b"a"


def check_context_manager_and_exception() -> None:
    """``with`` gives the ``RateLimit``; the exception's attributes are typed."""
    rate = huey.rate_limit("manual", 1, 60, retry=False)
    assert_type(rate, RateLimit)
    with rate as entered:
        assert_type(entered, RateLimit)
    assert_type(rate.current_usage(), int)
    try:
        rate.acquire()
    except RateLimitExceeded as exc:
        assert_type(exc.key, str)
        assert_type(exc.delay, float)
        assert_type(exc.retry, bool)
    rate.reset()


def rejected_calls() -> None:
    """Wrong arguments to a rate-limited task or to ``rate_limit`` are type errors."""
    fetch_page(42)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    plain("3")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    huey.rate_limit("api", limit=1.5, per=60)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
