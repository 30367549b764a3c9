"""The recipe's API, behind a reverse proxy that asks clerk-sync about each request.

What changed from the recipe: no PyJWT, no public key, no token parsing. The proxy (nginx with
deploy/nginx/site.conf, or Caddy, Traefik) verified the session with clerk-sync and passed the
identity on as headers, after removing any the client sent. This service must therefore be
reachable only through the proxy: bind it to a private network or to 127.0.0.1.
"""

from typing import Annotated

from fastapi import FastAPI, Header, HTTPException

app = FastAPI(title="upstream-fastapi")


@app.get("/api/me")
def me(
    x_clerk_user_id: Annotated[str | None, Header()] = None,
    x_clerk_session_id: Annotated[str | None, Header()] = None,
    x_clerk_org_id: Annotated[str | None, Header()] = None,
    x_clerk_org_slug: Annotated[str | None, Header()] = None,
    x_clerk_org_role: Annotated[str | None, Header()] = None,
    x_clerk_org_permissions: Annotated[str | None, Header()] = None,
    x_user_id: Annotated[str | None, Header()] = None,
    x_user_email: Annotated[str | None, Header()] = None,
    x_user_is_staff: Annotated[str | None, Header()] = None,
):
    # Without the header the request did not come through the proxy's check.
    if not x_clerk_user_id:
        raise HTTPException(status_code=401, detail="Not authenticated")
    # clerk-sync sends X-User-* only for users its mirror holds (the webhook has run).
    if not x_user_id:
        raise HTTPException(status_code=404, detail="User not found")
    organization = None
    if x_clerk_org_id:
        organization = {
            "id": x_clerk_org_id,
            "slug": x_clerk_org_slug,
            "role": x_clerk_org_role,
            "permissions": [p for p in (x_clerk_org_permissions or "").split(",") if p],
        }
    return {
        "id": int(x_user_id),
        "clerk_id": x_clerk_user_id,
        "session_id": x_clerk_session_id,
        "email": x_user_email,
        "is_staff": x_user_is_staff == "true",
        "active_organization": organization,
    }


@app.get("/api/admin/ping")
def admin_ping(x_clerk_org_role: Annotated[str | None, Header()] = None):
    # nginx's /api/admin/ location already required role=org:admin; checking again here
    # costs nothing and keeps the route safe behind a misconfigured proxy.
    if x_clerk_org_role != "org:admin":
        raise HTTPException(status_code=403, detail="This requires the role org:admin")
    return {"status": "ok"}
