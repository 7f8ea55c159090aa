"""How the API says no: every failure under /api/v1/ answers as one JSON error, never cached.

The body is {"error": {"code": ..., "message": ..., "field": ...}} with the matching status,
whether the endpoint raised `ApiError` (a bad parameter, a missing token), a service refused
the action (`errors.Refusal`: 409, its message as it is), or Werkzeug answered (an unknown
path, a rate limit, a server error) before or after the endpoint ran.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from ..errors import Refusal
from ..extensions import db
from ..limits import retry_after_seconds, too_many_message

PREFIX = "/api/v1/"
# A refusal's code names what was refused, by the endpoint that acted; "refused" otherwise.
REFUSAL_CODES = {
    "api.book_session": "booking_refused",
    "api.set_person_manager": "manager_refused",
}


class ApiError(Exception):
    """A request the API will not serve, with the status and code its JSON error carries."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    """The JSON error body with its status (and, for a 401, the Bearer challenge)."""
    body = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mentor-match"' + (
            ', error="invalid_token"' if code == "invalid_token" else ""
        )
    return response


def _api_error(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, error.field)


def _refused(refusal: Refusal) -> Response:
    """A service refused the action under the site's rules: 409, with its message as it is."""
    db.session.rollback()
    code = REFUSAL_CODES.get(request.endpoint or "", "refused")
    return error_response(409, code, str(refusal))


def _http_error(error: HTTPException) -> Response:
    code = (error.name or "error").lower().replace(" ", "_")
    if error.code == 429:  # Flask-Limiter's description is the limit's notation, not a sentence
        return error_response(429, code, too_many_message(retry_after_seconds()))
    return error_response(error.code or 500, code, error.description or error.name)


def _json_routing_errors() -> Response | None:
    """Unknown paths and methods under /api/v1/ answer in JSON, not the site's HTML pages."""
    failure = request.routing_exception
    if request.path.startswith(PREFIX) and isinstance(failure, (NotFound, MethodNotAllowed)):
        response = error_response(
            failure.code,
            "not_found" if failure.code == 404 else "method_not_allowed",
            "No such resource." if failure.code == 404 else "Method not allowed.",
        )
        if isinstance(failure, MethodNotAllowed) and failure.valid_methods:
            response.headers["Allow"] = ", ".join(failure.valid_methods)
        return response
    return None


def _no_store(response: Response) -> Response:
    """Nothing under /api/v1/ is cached, and a server error there is JSON too."""
    if request.path.startswith(PREFIX):
        response.headers["Cache-Control"] = "no-store"
        if response.status_code >= 500 and not response.is_json:
            return error_response(
                response.status_code, "server_error", "Something went wrong on our side."
            )
    return response


def answer_in_json(bp: Blueprint) -> None:
    """Make every failure of the API's blueprint, and every path under /api/v1/, JSON."""
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(Refusal, _refused)
    # The site's HTML pages for these codes are registered on the app by code, which Flask
    # prefers to a blueprint's handler by class; so the API names the codes too.
    for code_or_class in (HTTPException, 400, 403, 404, 413, 429):
        bp.register_error_handler(code_or_class, _http_error)
    bp.before_app_request(_json_routing_errors)
    bp.after_app_request(_no_store)
