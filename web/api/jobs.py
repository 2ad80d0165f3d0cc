"""Jobs: the status of anything slow that answered 202."""

from __future__ import annotations

from clinic import jobs
from clinic.errors import NotFound
from web import db
from web.api.blueprint import Blueprint
from web.api.schemas import JobSchema
from web.auth.identity import current_identity
from web.permissions import requires

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Background jobs")


@blp.route("/<string:job_id>")
@requires("jobs.read")
@blp.response(200, JobSchema)
def get_job(job_id: str):
    """One job: status, progress, result or error. A job someone else started is shown only
    to those whose permissions its kind of work needs; to others it does not exist."""
    job = jobs.get_job(db.session(), job_id)
    identity = current_identity()
    if not jobs.may_follow(job, identity.username, identity.can):
        raise NotFound(f"job {job_id} does not exist")
    return jobs.job_as_dict(job)
