"""Who the user is: an anonymous owner in a signed cookie, or your own auth (no LLM).

    python examples/identity_app.py           # a few requests against itself, printed
    python examples/identity_app.py --serve   # serve on http://127.0.0.1:8000

``GET /api/owner`` answers the anonymous owner of the browser (a signed, HttpOnly cookie
made on the first request); ``GET /api/user`` the signed-in user of a bearer token, the
same function serving as FastAPI dependency and as ``identify``. Both take the owner as a
FastAPI dependency, ``Depends(owners.owner)``: the owner a ``ChatEndpoint`` given the same
``Identity`` keeps chats under.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from typing import Annotated

import httpx
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request, Response

from uiwire.server import Identity, Owner

app = FastAPI()

# --- your own auth: a bearer token, as a FastAPI dependency -----------------------------

TOKENS = {"token-ada": "user-ada"}  # stands in for your token check or session store


async def current_user(request: Request) -> str | None:
    """The signed-in user's id, or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return TOKENS.get(token) if scheme.lower() == "bearer" else None


signed_in = Identity(identify=current_user).resolve(shared=False)

# --- no auth: an anonymous owner per browser --------------------------------------------

# The cookie's secret: UIWIRE_SECRET if set; here, one process, else a random one.
anonymous = Identity().resolve(shared=False)


@app.get("/api/owner")
async def anonymous_owner(
    response: Response, owner: Annotated[Owner | None, Depends(anonymous.owner)]
) -> dict[str, str]:
    """The owner as a FastAPI dependency; its cookie goes out with the response."""
    assert owner is not None  # an anonymous owner always exists
    owner.add_cookie_to(response)  # a new (or renewed) anonymous owner's cookie
    return {"owner": owner.id}


@app.get("/api/user")
async def signed_in_user(
    owner: Annotated[Owner | None, Depends(signed_in.owner)],
) -> dict[str, str]:
    if owner is None:  # identify said nobody is signed in
        raise HTTPException(status_code=401, detail="sign in")
    return {"owner": owner.id}


@app.get("/api/profile")
async def profile(user: Annotated[str | None, Depends(current_user)]) -> dict[str, str | None]:
    """A route of your own sees the same user through the dependency."""
    return {"user": user}


# --- running it ----------------------------------------------------------------------------


async def once() -> None:
    """Serve on a free loopback port, make a few requests, print what came back."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with httpx.AsyncClient(base_url=base) as browser:  # keeps cookies, as a browser
        first = await browser.get("/api/owner")
        cookie = first.headers["set-cookie"]
        print("anonymous, new owner's cookie:", "; ".join(sorted(cookie.split("; ")[1:])))
        again = await browser.get("/api/owner")
        print("anonymous, same owner next time:", again.json() == first.json())
        print("anonymous, no new cookie next time:", "set-cookie" not in again.headers)
        value = browser.cookies["uiwire_owner"]
        forged = value[:-1] + ("A" if value[-1] != "A" else "B")
    async with httpx.AsyncClient(base_url=base) as client:  # no cookie jar
        tampered = await client.get("/api/owner", headers={"cookie": f"uiwire_owner={forged}"})
        print("anonymous, tampered cookie is a new owner:", tampered.json() != first.json())
        bearer = {"authorization": "Bearer token-ada"}
        print("signed in:", (await client.get("/api/user", headers=bearer)).json()["owner"])
        print("dependency:", (await client.get("/api/profile", headers=bearer)).json()["user"])
        print("nobody signed in:", (await client.get("/api/user")).status_code)
    server.should_exit = True
    await serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", action="store_true", help="serve on 127.0.0.1:8000")
    if parser.parse_args().serve:
        uvicorn.run(app, host="127.0.0.1", port=8000)
    else:
        asyncio.run(once())


if __name__ == "__main__":
    main()
