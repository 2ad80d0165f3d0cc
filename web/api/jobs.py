"""Jobs: the status of anything slow that answered 202."""

from __future__ import annotations

from flask_smorest import Blueprint

from clinic.services import jobs

from .. import db
from ..permissions import requires
from ..schemas.common import JobSchema

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Background jobs")


@blp.route("/<string:job_id>")
@requires("jobs.read")
@blp.response(200, JobSchema)
def get_job(job_id: str):
    """One job: status, progress, result or error."""
    return jobs.job_as_dict(jobs.get_job(db.session(), job_id))
