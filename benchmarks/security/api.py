"""The JSON API as sqlmap's targets: a personal access token made on the site, and every
operation of the OpenAPI document with a value for each parameter."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlencode, urlsplit

from benchmarks.load import CSRF_RE, Client, User, next_month
from benchmarks.security.scope import CSRF_FIELD
from benchmarks.security.targets import Target

TOKEN_RE = re.compile(r'id="new-token" value="(mm_[A-Za-z0-9_-]+)"')


def make_api_token(port: int, user: User) -> str:
    """A personal access token made on /account/tokens, as the person would make one."""
    client = Client(port, user)
    try:
        status, page = client.request("GET", "/account/tokens")
        token = CSRF_RE.search(page)
        if status != 200 or token is None:
            raise RuntimeError(f"GET /account/tokens: {status}, no CSRF token")
        status, page = client.request(
            "POST",
            "/account/tokens",
            {
                CSRF_FIELD: html.unescape(token.group(1)),
                "name": "security scan",
            },
        )
        made = TOKEN_RE.search(page)
        if status != 200 or made is None:
            raise RuntimeError(f"POST /account/tokens: {status}, no token shown")
        return made.group(1)
    finally:
        client.close()


def api_get(port: int, token: str, path: str) -> tuple[int, dict]:
    """GET an API path with the token; (status, the JSON body or {})."""
    client = Client(port, None)
    try:
        client.connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = client.connection.getresponse()
        body = response.read()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, {}
    finally:
        client.close()


def example_of(schema: dict, document: dict, name: str, context: dict):
    """A valid-looking value for a schema: its example, enum, or one made from its type."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        schema = schema["anyOf"][0]
    if name in context:
        return context[name]
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        return {
            prop: example_of(sub, document, prop, context)
            for prop, sub in schema.get("properties", {}).items()
            if prop in schema.get("required", [])
        }
    if kind == "array":
        return [example_of(schema.get("items", {}), document, name, context)]
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if schema.get("format") == "date-time":
        return f"{next_month()}-01T09:00:00Z"
    if schema.get("format") == "date":
        return f"{next_month()}-01"
    return "scan"


def api_targets(port: int, token: str) -> list[Target]:
    """Every operation of the OpenAPI document, with a value for each parameter."""
    status, document = api_get(port, token, "/api/v1/openapi.json")
    if status != 200:
        raise RuntimeError(f"GET /api/v1/openapi.json: {status}")
    status, me = api_get(port, token, "/api/v1/me")
    if status != 200:
        raise RuntimeError(f"GET /api/v1/me with the new token: {status}")
    base = document.get("servers", [{"url": "/api/v1"}])[0]["url"].rstrip("/")
    if not base.startswith("/"):
        base = urlsplit(base).path.rstrip("/")
    context = {"person_id": me.get("id", 1), "month": next_month(), "master_id": me.get("id", 1)}
    headers = {"Authorization": f"Bearer {token}"}
    targets = []
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            path, query = base + template, []
            for parameter in operation.get("parameters", []):
                value = example_of(
                    parameter.get("schema", {}), document, parameter["name"], context
                )
                if parameter["in"] == "path":
                    # a string path parameter is marked for injection (*); an integer one
                    # is a Flask converter that refuses anything but digits
                    mark = "*" if parameter.get("schema", {}).get("type") == "string" else ""
                    path = path.replace("{" + parameter["name"] + "}", f"{value}{mark}")
                elif parameter["in"] == "query":
                    query.append((parameter["name"], value))
            full = path + (f"?{urlencode(query)}" if query else "")
            body, content_type = "", ""
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = json.dumps(
                    example_of(content["application/json"]["schema"], document, "", context)
                )
                content_type = "application/json"
            if not query and not body and "*" not in full:
                continue  # nothing sqlmap could inject into
            targets.append(
                Target(method.upper(), full, body, content_type, dict(headers), source="api")
            )
    return targets
