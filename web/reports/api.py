"""Reports: build one (202 + job, progress on the job's channel), download its files, the
dashboard's figures, and subscriptions to report e-mails.

Building needs ``reports.own``: a doctor's reports are his own figures; a holder of
``reports.read`` (managers, administrators) sees the whole clinic and manages subscriptions.
"""

from __future__ import annotations

from flask import Response

from clinic import jobs
from clinic.errors import Forbidden
from clinic.reference.patients import clinic_today
from clinic.reports import building, dashboard, subscriptions
from clinic.reports.params import parse_params
from web import db
from web.api.blueprint import Blueprint
from web.api.schemas import JobSchema, ProblemSchema
from web.auth.identity import current_identity
from web.permissions import requires
from web.reports import schemas
from web.ws.access import may_read

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="Reports")


def _staff_and_name():
    identity = current_identity()
    return identity.staff, identity.username


def start(data: dict) -> dict:
    """Validate, write the job, dispatch it after commit; the job as the API shows it."""
    session = db.session()
    staff, username = _staff_and_name()
    formats_refused = building.format_reasons(data.get("formats"))
    today = clinic_today(db.runtime().settings.tz)
    params = parse_params(session, data, staff, refused=formats_refused, today=today)
    formats = building.parse_formats(data.get("formats"))
    job = building.start_report(session, params, formats, created_by=username)
    db.enqueue_after_commit(session, building.TASK_NAME, queue=building.QUEUE, job_id=job.id)
    session.commit()
    return jobs.job_as_dict(job)


def _own_job(job_id: str):
    """A report job its asker may read: his own, or any for a holder of reports.read."""
    session = db.session()
    job = building.report_job(session, job_id)
    staff, username = _staff_and_name()
    if not staff.can("reports.read") and job.created_by != username:
        raise Forbidden("This report is someone else's.", code="not_yours")
    return session, job


@blp.route("", methods=["POST"])
@requires("reports.own")
@blp.arguments(schemas.ReportIn)
@blp.response(
    202,
    JobSchema,
    headers={"Location": {"description": "/api/v1/reports/<id>", "schema": {"type": "string"}}},
)
@blp.alt_response(403, schema=ProblemSchema, description="A doctor asked for others' figures.")
@blp.alt_response(422, schema=ProblemSchema, description="Parameters that break a rule.")
def build_report(data):
    """Start building a report; follow its job at Location or on its channel."""
    job = start(data)
    return job, 202, {"Location": f"/api/v1/reports/{job['id']}"}


@blp.route("/<string:job_id>")
@requires("reports.own")
@blp.response(200, JobSchema)
@blp.alt_response(404, schema=ProblemSchema)
def get_report(job_id: str):
    """The report's job: status, progress, and when done the figures and file names."""
    _session, job = _own_job(job_id)
    return jobs.job_as_dict(job)


@blp.route("/<string:job_id>/files/<string:name>")
@requires("reports.own")
@blp.response(200, description="The file: csv, xlsx, pdf or chart.png.")
@blp.alt_response(404, schema=ProblemSchema, description="No such report or file (yet).")
def report_file(job_id: str, name: str):
    """Download one of a finished report's files."""
    session, _job = _own_job(job_id)
    found = building.report_file(session, job_id, name)
    disposition = "inline" if name == building.CHART_NAME else "attachment"
    return Response(
        found.data,
        mimetype=found.content_type.split(";")[0],
        headers={"Content-Disposition": f'{disposition}; filename="{found.filename}"'},
    )


@blp.route("/dashboard")
@requires("reports.read")
@blp.response(200, schemas.DashboardOut)
def dashboard_figures():
    """Today's revenue, visits and queue, and the channels whose events change them."""
    session = db.session()
    figures = dashboard.today(session, db.runtime().settings.tz)
    # Only those the asker's socket may follow: a channel it may not read would close it
    # (1008) and cost a reconnect each (a manager who is also a doctor reads his own queues).
    identity = current_identity()
    channels = [c for c in dashboard.live_channels(session) if may_read(identity, c, session)]
    return {**figures, "channels": channels}


@blp.route("/subscriptions")
@requires("reports.read")
@blp.response(200, schemas.SubscriptionOut(many=True))
def list_subscriptions():
    """Every report subscription."""
    found = subscriptions.all_subscriptions(db.session())
    return [subscriptions.subscription_as_dict(s) for s in found]


@blp.route("/subscriptions", methods=["POST"])
@requires("reports.read")
@blp.arguments(schemas.SubscriptionIn)
@blp.response(201, schemas.SubscriptionOut)
@blp.alt_response(
    409,
    schema=ProblemSchema,
    description="The address receives this report at this frequency already "
    "(``already_subscribed``, in ``code``).",
)
@blp.alt_response(422, schema=ProblemSchema)
def subscribe(data):
    """Subscribe an address to a report by e-mail, daily, weekly or monthly."""
    session = db.session()
    staff, username = _staff_and_name()
    sub = subscriptions.subscribe(session, data, staff, created_by=username)
    session.commit()
    return subscriptions.subscription_as_dict(sub)


@blp.route("/subscriptions/<int:subscription_id>", methods=["DELETE"])
@requires("reports.read")
@blp.response(200, schemas.SubscriptionOut)
@blp.alt_response(404, schema=ProblemSchema)
def unsubscribe(subscription_id: int):
    """Stop a subscription; its unsent deliveries are cancelled."""
    session = db.session()
    sub = subscriptions.unsubscribe(session, subscription_id)
    session.commit()
    return subscriptions.subscription_as_dict(sub)


@blp.route("/subscriptions/<int:subscription_id>/deliveries")
@requires("reports.read")
@blp.response(200, schemas.DeliveryOut(many=True))
@blp.alt_response(404, schema=ProblemSchema)
def deliveries(subscription_id: int):
    """The subscription's delivery log, newest period first."""
    found = subscriptions.deliveries_of(db.session(), subscription_id)
    return [subscriptions.delivery_as_dict(d) for d in found]
