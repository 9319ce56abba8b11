"""``Identity``: the owner of a request, from the app's auth or a signed anonymous cookie.

Each test serves a small Starlette (or FastAPI) app on loopback whose ``/whoami`` route
answers the owner ``OwnerResolver.owner`` found, as the chat endpoint will.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import subprocess
import sys
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.servers import serve
from uiwire.chats import ChatStoreError
from uiwire.server import Identity, Owner, OwnerResolver
from uiwire.server.identity import DEFAULT_COOKIE_MAX_AGE, SECRET_ENV

SECRET = secrets.token_urlsafe(32)
OTHER_SECRET = secrets.token_urlsafe(32)
COOKIE = "uiwire_owner"


@pytest.fixture(autouse=True)
def no_secret_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)


def whoami_app(resolver: OwnerResolver, *, entered: Callable[[], None] | None = None) -> Starlette:
    """``GET /whoami``: ``{"owner": id}`` with the owner's cookie, or 401."""

    async def whoami(request: Request) -> Response:
        if entered is not None:
            entered()
        owner = await resolver.owner(request)
        if owner is None:
            return JSONResponse({"error": "sign in"}, status_code=401)
        response = JSONResponse({"owner": owner.id})
        owner.add_cookie_to(response)
        return response

    return Starlette(routes=[Route("/whoami", whoami)])


def resolver(secret: str = SECRET, **options: Any) -> OwnerResolver:
    clock = options.pop("clock", None)
    identity = Identity(secret=secret, **options)
    if clock is not None:
        return identity.resolve(shared=True, clock=clock)
    return identity.resolve(shared=True)


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def cookie_value(response: httpx.Response) -> str:
    [header] = set_cookies(response)
    name, _, rest = header.partition("=")
    assert name == COOKIE
    return rest.split(";", 1)[0]


async def whoami(base: str, cookie: str | None = None, **headers: str) -> httpx.Response:
    """One request with no cookie jar: ``cookie`` as the owner cookie's value, if any."""
    if cookie is not None:
        headers["cookie"] = f"{COOKIE}={cookie}"
    async with httpx.AsyncClient() as client:
        return await client.get(f"{base}/whoami", headers=headers)


def request_with(headers: dict[str, str]) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/whoami",
        "query_string": b"",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "server": ("127.0.0.1", 80),
    }
    return Request(scope)


# --- the anonymous owner cookie ----------------------------------------------------------


async def test_an_anonymous_owner_is_minted_once_and_kept() -> None:
    async with serve(whoami_app(resolver())) as base, httpx.AsyncClient() as client:
        first = await client.get(f"{base}/whoami")
        second = await client.get(f"{base}/whoami")
        third = await client.get(f"{base}/whoami")
    owner = first.json()["owner"]
    assert owner.startswith("anon_")
    assert len(owner) == len("anon_") + 32  # 128 bits, hex
    assert len(set_cookies(first)) == 1
    assert second.json()["owner"] == third.json()["owner"] == owner
    assert set_cookies(second) == set_cookies(third) == []


async def test_every_new_browser_is_a_new_owner() -> None:
    async with serve(whoami_app(resolver())) as base:
        owners = {(await whoami(base)).json()["owner"] for _ in range(5)}
    assert len(owners) == 5


async def test_the_cookie_is_httponly_samesite_lax_on_the_whole_site_and_long_lived() -> None:
    async with serve(whoami_app(resolver())) as base:
        response = await whoami(base)
    [header] = set_cookies(response)
    _, *attributes = header.split("; ")
    assert sorted(attributes) == sorted(
        ["HttpOnly", "SameSite=Lax", "Path=/", f"Max-Age={400 * 24 * 60 * 60}"]
    )
    assert DEFAULT_COOKIE_MAX_AGE == 400 * 24 * 60 * 60


@pytest.mark.parametrize(
    ("secure", "forwarded_proto", "is_secure"),
    [
        (None, "https", True),  # uvicorn believes X-Forwarded-Proto from 127.0.0.1
        (None, "http", False),
        (True, "http", True),
        (False, "https", False),
    ],
)
async def test_the_cookie_is_secure_when_the_request_came_over_https(
    secure: bool | None, forwarded_proto: str, is_secure: bool
) -> None:
    app = whoami_app(resolver(secure=secure))
    async with serve(app) as base:
        response = await whoami(base, **{"x-forwarded-proto": forwarded_proto})
    [header] = set_cookies(response)
    assert ("Secure" in header.split("; ")) is is_secure


async def test_cookie_name_and_max_age_are_configurable() -> None:
    app = whoami_app(resolver(cookie_name="__Host-owner", secure=True, max_age=3600))
    async with serve(app) as base, httpx.AsyncClient() as client:
        minted = await client.get(f"{base}/whoami")
        [header] = set_cookies(minted)
        value = header.split(";", 1)[0].split("=", 1)[1]
        again = await client.get(f"{base}/whoami", headers={"cookie": f"__Host-owner={value}"})
    assert header.startswith("__Host-owner=")
    assert "Max-Age=3600" in header.split("; ")
    assert again.json()["owner"] == minted.json()["owner"]
    assert set_cookies(again) == []


# --- cookies that do not verify: a new owner, never an error, never the old id ---------------


def _flip(value: str, index: int) -> str:
    swapped = "b" if value[index] != "b" else "c"
    return value[:index] + swapped + value[index + 1 :]


def _redated(value: str, by: int) -> str:
    version, owner, issued, signature = value.split(".")
    return ".".join([version, owner, str(int(issued) + by), signature])


TAMPERINGS: dict[str, Callable[[str, str], str]] = {
    "a flipped owner character": lambda mine, _theirs: _flip(mine, len("v1.anon_") + 3),
    "an earlier date": lambda mine, _theirs: _redated(mine, -1),
    "a flipped signature character": lambda mine, _theirs: _flip(mine, len(mine) - 5),
    "another owner's id with my signature": lambda mine, theirs: ".".join(
        [*mine.split(".")[:1], theirs.split(".")[1], *mine.split(".")[2:]]
    ),
    "my owner id with another owner's signature": lambda mine, theirs: ".".join(
        [*mine.split(".")[:3], theirs.split(".")[3]]
    ),
    "an older format": lambda mine, _theirs: "v0" + mine[2:],
    "no signature": lambda mine, _theirs: mine.rsplit(".", 1)[0],
    "a truncated signature": lambda mine, _theirs: mine[:-1],
    "an extra character": lambda mine, _theirs: mine + "A",
    "empty": lambda _mine, _theirs: "",
    "garbage": lambda _mine, _theirs: "%00<script>",
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=list(TAMPERINGS))
async def test_a_tampered_cookie_is_a_new_owner(tamper: Callable[[str, str], str]) -> None:
    async with serve(whoami_app(resolver())) as base:
        mine, theirs = await whoami(base), await whoami(base)
        owners = {mine.json()["owner"], theirs.json()["owner"]}
        forged = tamper(cookie_value(mine), cookie_value(theirs))
        assert forged != cookie_value(mine)
        response = await whoami(base, forged)
        honest = await whoami(base, cookie_value(mine))
    assert response.status_code == 200
    assert response.json()["owner"] not in owners
    assert response.json()["owner"].startswith("anon_")
    assert cookie_value(response) != forged  # the new owner's own cookie replaces it
    assert honest.json()["owner"] == mine.json()["owner"]  # the real one still works


async def test_a_cookie_signed_with_another_secret_is_a_new_owner() -> None:
    async with (
        serve(whoami_app(resolver(SECRET))) as ours,
        serve(whoami_app(resolver(OTHER_SECRET))) as theirs,
    ):
        minted = await whoami(theirs)
        response = await whoami(ours, cookie_value(minted))
    assert response.json()["owner"] != minted.json()["owner"]
    assert set_cookies(response)


async def test_an_old_cookie_is_renewed_for_the_same_owner_and_an_expired_one_is_refused() -> None:
    now = [1_800_000_000.0]
    app = whoami_app(resolver(clock=lambda: now[0], max_age=10 * 24 * 60 * 60))
    async with serve(app) as base:
        minted = await whoami(base)
        owner = minted.json()["owner"]
        now[0] += 60 * 60  # an hour later: nothing to renew
        fresh = await whoami(base, cookie_value(minted))
        now[0] += 2 * 24 * 60 * 60  # two days later: the same owner, a new cookie
        renewed = await whoami(base, cookie_value(minted))
        now[0] += 9 * 24 * 60 * 60  # past the first cookie's max-age, not the renewed one's
        expired = await whoami(base, cookie_value(minted))
        kept = await whoami(base, cookie_value(renewed))
        now[0] -= 60 * 24 * 60 * 60  # a cookie dated in the future
        from_the_future = await whoami(base, cookie_value(renewed))
    assert fresh.json()["owner"] == owner
    assert set_cookies(fresh) == []
    assert renewed.json()["owner"] == owner
    assert cookie_value(renewed) != cookie_value(minted)
    assert expired.json()["owner"] != owner
    assert kept.json()["owner"] == owner
    assert from_the_future.json()["owner"] != owner


def _mutation(value: str) -> st.SearchStrategy[str]:
    """One character replaced, inserted or deleted, or a slice kept."""
    alphabet = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    inserted = st.tuples(st.integers(0, len(value)), alphabet).map(
        lambda p: value[: p[0]] + p[1] + value[p[0] :]
    )
    if not value:
        return inserted
    index = st.integers(0, len(value) - 1)
    replaced = st.tuples(index, alphabet).map(lambda p: value[: p[0]] + p[1] + value[p[0] + 1 :])
    deleted = index.map(lambda i: value[:i] + value[i + 1 :])
    cut = st.tuples(index, index).map(lambda p: value[min(p) : max(p)])
    return st.one_of(replaced, inserted, deleted, cut)


_PROPERTY_RESOLVER = resolver()
_VALID = asyncio.run(_PROPERTY_RESOLVER.owner(request_with({})))
assert _VALID is not None
assert _VALID.set_cookie is not None
_VALID_VALUE = _VALID.set_cookie.split(";", 1)[0].split("=", 1)[1]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_mutation_of_a_valid_cookie_verifies(data: st.DataObject) -> None:
    mutated = _VALID_VALUE
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        mutated = data.draw(_mutation(mutated))
    request = request_with({"cookie": f"{COOKIE}={mutated}"})
    sent = request.cookies.get(COOKIE)
    if sent == _VALID_VALUE:  # the header's own syntax undid the change (a trailing ';')
        return
    found = asyncio.run(_PROPERTY_RESOLVER.owner(request))
    assert found is not None
    assert found.id != _VALID.id
    assert found.set_cookie is not None


def test_the_valid_cookie_of_the_property_test_does_verify() -> None:
    request = request_with({"cookie": f"{COOKIE}={_VALID_VALUE}"})
    found = asyncio.run(_PROPERTY_RESOLVER.owner(request))
    assert found is not None
    assert found.id == _VALID.id
    assert found.set_cookie is None


# --- where the secret comes from --------------------------------------------------------------


async def test_two_workers_with_the_secret_in_the_environment_share_owners(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    first = Identity().resolve(shared=True)
    second = Identity().resolve(shared=True)
    async with serve(whoami_app(first)) as one, serve(whoami_app(second)) as two:
        minted = await whoami(one)
        seen = await whoami(two, cookie_value(minted))
    assert seen.json()["owner"] == minted.json()["owner"]
    assert set_cookies(seen) == []


async def test_an_explicit_secret_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_ENV, OTHER_SECRET)
    async with (
        serve(whoami_app(Identity().resolve(shared=True))) as from_env,
        serve(whoami_app(resolver(SECRET))) as explicit,
    ):
        minted = await whoami(from_env)
        seen = await whoami(explicit, cookie_value(minted))
    assert seen.json()["owner"] != minted.json()["owner"]


@pytest.mark.parametrize("secret", ["x" * 31, b"x" * 31, "", "é" * 15])
def test_a_short_secret_is_refused_at_construction(secret: str | bytes) -> None:
    with pytest.raises(ValueError, match=r"Identity.secret is \d+ bytes long.*32 random bytes"):
        Identity(secret=secret)


def test_a_secret_of_32_bytes_is_taken() -> None:
    Identity(secret="x" * 32)
    Identity(secret=b"\x00" * 32)
    Identity(secret="é" * 16)  # 32 bytes of UTF-8


def test_a_secret_that_is_not_str_or_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"Identity.secret must be str or bytes; got int"):
        Identity(secret=12345678901234567890123456789012345)  # type: ignore[arg-type]


def test_a_short_secret_in_the_environment_is_refused_at_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(ValueError, match=f"the {SECRET_ENV} environment variable is 5 bytes"):
        Identity().resolve(shared=False)


def test_several_workers_without_a_secret_fail_at_start_up() -> None:
    def make_app() -> Starlette:  # as an app module does at import, once per worker
        return whoami_app(Identity().resolve(shared=True))

    with pytest.raises(ValueError, match=f"several workers.*Set {SECRET_ENV}"):
        make_app()


async def _kept() -> bytes:
    return b"k" * 32


def test_several_workers_start_with_a_secret_from_any_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Identity().resolve(shared=True, kept_secret=_kept)
    Identity(secret=SECRET).resolve(shared=True)
    Identity(identify=lambda request: "ada").resolve(shared=True)  # no cookie at all
    monkeypatch.setenv(SECRET_ENV, SECRET)
    Identity().resolve(shared=True)


async def test_the_kept_secret_is_fetched_once_however_many_ask_at_once() -> None:
    calls: list[int] = []
    everyone_waits = asyncio.Event()
    requests = 20
    entered = [0]

    def enter() -> None:
        entered[0] += 1
        if entered[0] == requests:  # every request is in the route, all but one waiting
            everyone_waits.set()

    async def kept_secret() -> bytes:
        calls.append(1)
        await everyone_waits.wait()
        return b"s" * 32

    first = Identity().resolve(shared=True, kept_secret=kept_secret)
    second = Identity().resolve(shared=True, kept_secret=kept_secret)  # another worker
    async with serve(whoami_app(first, entered=enter)) as one, serve(whoami_app(second)) as two:
        answers = await asyncio.gather(*(whoami(one) for _ in range(requests)))
        again = await whoami(one, cookie_value(answers[0]))
        elsewhere = await whoami(two, cookie_value(answers[0]))
    assert len(calls) == 2  # once per worker
    assert all(a.status_code == 200 for a in answers)
    assert len({a.json()["owner"] for a in answers}) == requests
    assert again.json()["owner"] == elsewhere.json()["owner"] == answers[0].json()["owner"]


async def test_a_kept_secret_that_fails_is_asked_again_by_the_next_request() -> None:
    outcomes: list[bytes | Exception] = [ChatStoreError("the database is down"), b"s" * 32]
    calls: list[int] = []

    async def kept_secret() -> bytes:
        calls.append(1)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    owners = Identity().resolve(shared=True, kept_secret=kept_secret)
    with pytest.raises(ChatStoreError):
        await owners.owner(request_with({}))
    found = await owners.owner(request_with({}))
    assert found is not None
    assert found.id.startswith("anon_")
    await owners.owner(request_with({}))
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("returned", "error", "message"),
    [
        ("short", ValueError, "the secret kept_secret returned is 5 bytes"),
        ("a str", TypeError, "kept_secret must return bytes; got str"),
    ],
)
async def test_a_kept_secret_that_is_not_one_is_refused(
    returned: str, error: type[Exception], message: str
) -> None:
    async def kept_secret() -> Any:
        return b"short" if returned == "short" else "s" * 32

    owners = Identity().resolve(shared=True, kept_secret=kept_secret)
    with pytest.raises(error, match=message):
        await owners.owner(request_with({}))


def test_one_process_without_a_secret_signs_with_its_own_and_says_so_once() -> None:
    """In a fresh interpreter: every endpoint of the process agrees; one warning, which
    names no secret."""
    script = (
        "import asyncio, logging\n"
        "logging.basicConfig(level=logging.DEBUG)\n"
        "from starlette.requests import Request\n"
        "from uiwire.server import Identity\n"
        "def request(headers):\n"
        "    scope = {'type': 'http', 'scheme': 'http', 'path': '/', 'query_string': b''}\n"
        "    return Request(scope | {'server': ('127.0.0.1', 80), 'headers': headers})\n"
        "one, two = Identity().resolve(shared=False), Identity().resolve(shared=False)\n"
        "minted = asyncio.run(one.owner(request([])))\n"
        "value = minted.set_cookie.split(';')[0]\n"
        "seen = asyncio.run(two.owner(request([(b'cookie', value.encode())])))\n"
        "print(seen.id == minted.id, seen.set_cookie is None, minted.id, value)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    same, no_cookie, owner, cookie = done.stdout.split()
    assert (same, no_cookie) == ("True", "True")
    warnings = [line for line in done.stderr.splitlines() if "random one" in line]
    assert len(warnings) == 1
    assert SECRET_ENV in warnings[0]
    assert owner not in done.stderr
    assert cookie.split("=", 1)[1] not in done.stderr


# --- the app's own auth -----------------------------------------------------------------------

TOKENS = {"token-ada": "user-ada", "token-bob": "user-bob"}


def bearer_user(request: Request) -> str | None:
    """A sync ``identify``: a dictionary read (think: a signed token checked in memory)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return TOKENS.get(token) if scheme.lower() == "bearer" else None


async def session_user(request: Request) -> str | None:
    """An async ``identify``: a lookup that waits (think: a session store)."""
    await asyncio.sleep(0)
    return bearer_user(request)


@pytest.mark.parametrize("identify", [bearer_user, session_user], ids=["sync", "async"])
async def test_identify_names_the_owner_and_no_cookie_is_set(
    identify: Callable[[Request], Any],
) -> None:
    app = whoami_app(Identity(identify=identify).resolve(shared=True))
    async with serve(app) as base:
        ada = await whoami(base, authorization="Bearer token-ada")
        bob = await whoami(base, authorization="Bearer token-bob")
        nobody = await whoami(base)
        forged = await whoami(base, authorization="Bearer token-eve")
    assert ada.json() == {"owner": "user-ada"}
    assert bob.json() == {"owner": "user-bob"}
    assert set_cookies(ada) == set_cookies(bob) == []
    assert nobody.status_code == forged.status_code == 401
    assert set_cookies(nobody) == []


@pytest.mark.parametrize(
    ("returned", "error", "message"),
    [
        (42, TypeError, r"Identity.identify must return an owner id \(a str\) or None; got int"),
        (b"ada", TypeError, "got bytes"),
        ("", ValueError, "Identity.identify returned an owner id of 0 characters"),
        ("a" * 257, ValueError, "of 257 characters; it must have 1 to 256"),
        ("ada\x00", ValueError, "a control character"),
        ("ada\ud800", ValueError, "a lone surrogate"),
    ],
)
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_identify_returning_no_owner_id_is_an_error_naming_the_hook(
    returned: object, error: type[Exception], message: str, kind: str
) -> None:
    async def async_identify(request: Request) -> Any:
        return returned

    identify: Callable[[Request], Any] = (
        async_identify if kind == "async" else (lambda request: returned)
    )
    owners = Identity(identify=identify).resolve(shared=True)
    with pytest.raises(error, match=message):
        await owners.owner(request_with({}))


async def test_identify_takes_any_owner_id_of_1_to_256_characters() -> None:
    for owner_id in ("a", "é" * 256, "user:42 / tenant:7", "😀"):
        owners = Identity(identify=lambda request, o=owner_id: o).resolve(shared=True)
        found = await owners.owner(request_with({}))
        assert found is not None
        assert found.id == owner_id
        assert found.set_cookie is None


def test_identify_must_be_callable() -> None:
    with pytest.raises(TypeError, match=r"Identity.identify must be callable; got str"):
        Identity(identify="user")  # type: ignore[arg-type]


# --- FastAPI: the same user as your routes' dependency -------------------------------------------


def fastapi_app() -> FastAPI:
    """Auth middleware sets ``request.state.user``; a dependency and ``identify`` read it."""
    app = FastAPI()

    async def authenticate(request: Request, call_next: RequestResponseEndpoint) -> Response:
        request.state.user = bearer_user(request)
        return await call_next(request)

    app.add_middleware(BaseHTTPMiddleware, dispatch=authenticate)

    def current_user(request: Request) -> str | None:
        return request.state.user

    owners = Identity(identify=current_user).resolve(shared=True)

    @app.get("/profile")
    def profile(user: str | None = Depends(current_user)) -> dict[str, str | None]:
        return {"user": user}

    @app.get("/whoami")
    async def who(request: Request) -> Response:
        owner = await owners.owner(request)
        if owner is None:
            return JSONResponse({"error": "sign in"}, status_code=401)
        return JSONResponse({"owner": owner.id})

    return app


async def test_identify_reads_what_fastapi_auth_middleware_found() -> None:
    async with serve(fastapi_app()) as base, httpx.AsyncClient() as client:
        headers = {"authorization": "Bearer token-ada"}
        owner = await client.get(f"{base}/whoami", headers=headers)
        profile = await client.get(f"{base}/profile", headers=headers)
        nobody = await client.get(f"{base}/whoami")
    assert owner.json() == {"owner": "user-ada"}
    assert profile.json() == {"user": "user-ada"}  # the same user the dependency sees
    assert nobody.status_code == 401


OWNERS = resolver()
"""Module-level: FastAPI reads a route's string annotations in the module's globals."""


async def test_the_owner_is_a_fastapi_dependency_and_its_cookie_goes_out() -> None:
    app = FastAPI()

    @app.get("/me")
    async def me(
        response: Response, owner: Annotated[Owner | None, Depends(OWNERS.owner)]
    ) -> dict[str, str]:
        assert owner is not None
        owner.add_cookie_to(response)
        return {"owner": owner.id}

    async with serve(app) as base, httpx.AsyncClient() as browser:
        first = await browser.get(f"{base}/me")
        second = await browser.get(f"{base}/me")
    assert len(set_cookies(first)) == 1
    assert set_cookies(second) == []
    assert first.json() == second.json()
    assert first.json()["owner"].startswith("anon_")


# --- nothing secret in the logs -------------------------------------------------------------------


async def test_no_secret_cookie_or_owner_id_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with serve(whoami_app(resolver())) as base:
        minted = await whoami(base)
        forged = _flip(cookie_value(minted), len(cookie_value(minted)) - 2)
        replaced = await whoami(base, forged)
        await whoami(base, cookie_value(minted))
    server_side = "\n".join(  # httpx and httpcore log the test client's own headers
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    assert "did not verify" in server_side  # the tampered cookie was noticed...
    for secret in (
        SECRET,
        minted.json()["owner"],
        replaced.json()["owner"],
        cookie_value(minted),
        forged,
        cookie_value(replaced),
    ):
        assert secret not in server_side  # ...without a word of what it held


def test_the_identity_repr_hides_the_secret() -> None:
    assert SECRET not in repr(Identity(secret=SECRET))


async def test_the_owner_repr_hides_the_cookie() -> None:
    found = await resolver().owner(request_with({}))
    assert found is not None
    assert found.set_cookie is not None
    assert found.set_cookie not in repr(found)


# --- options refused at construction -------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cookie_name": "owner id"}, "Identity.cookie_name must be a cookie name"),
        ({"cookie_name": "a;b"}, "Identity.cookie_name must be a cookie name"),
        ({"cookie_name": "__Host-owner"}, "set secure=True"),
        ({"max_age": 0}, "Identity.max_age must be a positive int"),
        ({"max_age": 1.5}, "Identity.max_age must be a positive int"),
    ],
)
def test_bad_options_are_refused_at_construction(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Identity(secret=SECRET, **options)


def test_identity_is_frozen_and_keyword_only() -> None:
    identity = Identity(secret=SECRET)
    with pytest.raises(AttributeError):
        identity.max_age = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        Identity(None)  # type: ignore[misc]
