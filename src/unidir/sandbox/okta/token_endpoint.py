"""``POST /oauth2/v1/token``: the org authorization server's client-credentials grant."""

from __future__ import annotations

from urllib.parse import parse_qsl

from unidir.sandbox.okta.call import Call, Reply
from unidir.sandbox.okta.oauth import OAuthError


async def issue_token(call: Call) -> Reply:
    form = dict(parse_qsl(call.raw_body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        answer = call.sandbox.oauth.issue(form, f"{call.base}/oauth2/v1/token")
    except OAuthError as problem:
        return Reply(problem.status, problem.body(), headers={"Cache-Control": "no-store"})
    return Reply(200, answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
