"""The OpenAPI schema documents every error the API can answer, with its body.

Views document the errors of their own logic (409 `budget_spent`, 410 `lease_expired`...). The
errors that any operation can answer come from the framework around them, and schemathesis
found them undocumented (issue 12): a malformed query or body is a 400 (hitlcrowd/parsers.py,
hitlcrowd/middleware.py), a bad `?page=` or `?cursor=` a 404, a wrong content type a 415,
throttling a 429. This postprocessing hook adds those where they apply, and gives every 4xx
response the one error body, `{"code", "detail", "errors"}` (hitlcrowd/api.py), as `Error`.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error: `errors` maps fields to messages, lists an upload's row "
    "errors, or is null.",
    "properties": {
        "code": {"type": "string", "description": "Machine-readable, e.g. `invalid`."},
        "detail": {"type": "string"},
        "errors": {"description": "An object (field: messages), a list (row errors) or null."},
    },
    "required": ["code", "detail", "errors"],
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
PAGINATION_PARAMETERS = frozenset({"page", "cursor"})
DEFAULTS = {
    "400": "A malformed request: JSON that is invalid, too deep or holds a NUL, a lone "
    "surrogate or a number out of range, or a NUL in a query parameter; `errors` names it.",
    "401": "No token, or an invalid or expired one.",
    "403": "Not allowed for my role.",
    "404": "No such object among mine, or no such page.",
    "415": "The body is not JSON (application/json, UTF-8).",
    "429": "Too many requests: wait for the Retry-After header's seconds.",
}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for item in result.get("paths", {}).values():
        for operation in item.values():
            responses = operation["responses"]
            for code in _applicable_errors(operation):
                responses.setdefault(code, {"description": DEFAULTS[code]})
            for code, response in responses.items():
                if code.startswith("4") and "content" not in response:
                    if response.get("description") in ("", "No response body"):
                        response["description"] = DEFAULTS.get(code, "An error.")
                    response["content"] = ERROR_CONTENT
            operation["responses"] = dict(sorted(responses.items()))
    return result


def _applicable_errors(operation: dict[str, Any]) -> list[str]:
    codes = ["400", "429"]
    if operation.get("security", [{}]) != [{}]:
        codes += ["401", "403"]
    parameters = operation.get("parameters", [])
    if any(p["in"] == "path" or p["name"] in PAGINATION_PARAMETERS for p in parameters):
        codes.append("404")
    body_types = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body_types and len(body_types) == 1:
        codes.append("415")
    return codes
