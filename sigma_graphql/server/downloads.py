"""GET /exports/{token}: the file of a finished export job (issue 18), streamed from GridFS.

Two locks, both required: the token (sigma_graphql/core/download_tokens.py: signed, names the
job and its creator, expires after SIGMA_EXPORT_URL_TTL_S) and the creator's own session
(Authorization: Bearer, or the session cookie a browser sends with a plain GET). A link alone,
copied into a chat, a ticket or a proxy log, opens nothing; a session alone cannot guess links.

Answers: 200 with the file (Content-Disposition: attachment); 401 without a session; 403 for
any other account than the job's creator; 404 for a token this server did not sign or a job that
does not exist (or is not finished); 410 for an expired link, an expired job or a file that was
cleaned up.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from db import export_files, export_jobs
from db.drivers.handles import Databases
from db.drivers.outages import retry_after, unavailable_database
from resolvers.export_runs import content_type
from sigma_graphql.core.download_tokens import TokenExpired, TokenInvalid, verify
from sigma_graphql.core.settings import Settings
from sigma_graphql.request.context import resolve_viewer


def _refuse(status: int, message: str) -> Response:
    return JSONResponse(
        {"error": message}, status_code=status, headers={"Cache-Control": "no-store"}
    )


async def download(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    dbs: Databases = request.app.state.dbs
    try:
        job_id, user_id = verify(
            settings.secret_key, request.path_params["token"], settings.export_url_ttl_s
        )
    except TokenExpired:
        return _refuse(410, "This download link has expired; ask for the job again")
    except TokenInvalid:
        return _refuse(404, "Not found")
    try:
        viewer = await resolve_viewer(request, dbs)
        job = await export_jobs.find(dbs.mongo, job_id)
        present = job is not None and await export_files.exists(dbs.mongo, job.get("file_id"))
    except Exception as exc:
        down = unavailable_database(exc)
        if down is None:
            raise
        wait = retry_after(exc)
        return JSONResponse(
            {"error": f"Database {down} is unavailable"},
            status_code=503,
            headers={"Retry-After": str(wait), "Cache-Control": "no-store"},
        )
    if viewer.user_id is None:
        return _refuse(401, "Sign in as the account that started the export")
    if viewer.user_id != user_id:
        return _refuse(403, "Only the account that started the export can download it")
    if job is None or job["owner_id"] != user_id or job["status"] != "SUCCEEDED":
        return _refuse(404, "Not found")
    if job["expires_at"] <= export_jobs.now_utc() or not present:
        return _refuse(410, "This export has expired")
    name = str(job["file_name"])
    headers = {
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}",
        "Content-Length": str(job["file_size"]),
        "Cache-Control": "no-store",
    }
    return StreamingResponse(
        export_files.stream(dbs.mongo, job["file_id"]),
        media_type=content_type(job),
        headers=headers,
    )


ROUTES = [Route("/exports/{token}", download, methods=["GET"])]
