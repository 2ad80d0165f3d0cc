"""Jobs: the status of anything slow that answered 202."""

from __future__ import annotations

from flask_smorest import Blueprint

from clinic import jobs
from web import db
from web.api.schemas import JobSchema
from web.permissions import requires

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Background jobs")


@blp.route("/<string:job_id>")
@requires("jobs.read")
@blp.response(200, JobSchema)
def get_job(job_id: str):
    """One job: status, progress, result or error."""
    return jobs.job_as_dict(jobs.get_job(db.session(), job_id))
