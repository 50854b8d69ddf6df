"""The worker side's own endpoints: `/mturk/externalSubmit`, where a question's form posts the
answer (as to https://www.mturk.com/mturk/externalSubmit), and `/mturk/question/<HITId>/`,
an HTMLQuestion's HTML served so it can never read the worker's session or our pages.

Both answer inside the frame of the worker's task page: framed by our own pages only
(X-Frame-Options SAMEORIGIN, frame-ancestors 'self'), never by another site.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from apps.mturk.access import may_see_question
from apps.mturk.answers import ASSIGNMENT_FIELD
from apps.mturk.frames import HTML_SANDBOX, PREVIEW, submit_origin
from apps.mturk.models import MturkHIT
from apps.mturk.questions import question_parse
from apps.mturk.services.external_submit import external_submit
from apps.tasks.selectors.assignments import project_list_open_to_worker
from hitlcrowd.api import domain_status
from hitlcrowd.errors import DomainError

# Our responses in the question's frame: only our own task page may frame them.
FRAMED_CSP = {"frame-ancestors": ["'self'"]}
# The HTMLQuestion page's whole policy (not ours: its scripts are the requester's, from
# wherever they keep them, as on MTurk). The sandbox gives it an opaque origin: no cookie,
# no storage of ours, no same-origin read of any page or API of this site.
HTML_QUESTION_CSP = f"sandbox {HTML_SANDBOX}; frame-ancestors 'self'; object-src 'none'"
# HTMLQuestions written for MTurk post to its address, hard-coded; served here, they post here.
MTURK_SUBMIT_URLS = (
    "https://www.mturk.com/mturk/externalSubmit",
    "https://workersandbox.mturk.com/mturk/externalSubmit",
)
SUBMIT_PATH = "/mturk/externalSubmit"


@csrf_exempt  # a cross-site form post: the AssignmentId of a live lease is the credential
@xframe_options_sameorigin
@never_cache
@require_http_methods(["GET", "POST"])
def external_submit_view(request: HttpRequest) -> HttpResponse:
    """The answer of a question's form (MTurk took GET and POST alike)."""
    data = request.POST if request.method == "POST" else request.GET
    assignment_id = data.get(ASSIGNMENT_FIELD, "")
    if not assignment_id or assignment_id == PREVIEW:
        return _refused(
            request,
            400,
            "Nothing was submitted: this task was not accepted yet. Accept it first, then "
            "answer it.",
        )
    fields = [(name, value) for name, values in data.lists() for value in values]
    visitor = request.user if request.user.is_authenticated else None
    try:
        submitted = external_submit(assignment_id=assignment_id, fields=fields, visitor=visitor)
    except DomainError as exc:
        return _refused(request, domain_status(exc), exc.message)
    context = {"submitted": submitted, "project_id": submitted.project_id}
    return _framed(render(request, "mturk/submitted.html", context))


@xframe_options_sameorigin
@never_cache
@require_GET
def html_question_view(request: HttpRequest, hit_id: str) -> HttpResponse:
    """The HTMLContent of a HIT the signed-in worker may work on, under HTML_QUESTION_CSP:
    one whose type's requirements guarding the preview they meet, or whose task they hold.
    Anyone else gets a 404, as for a HIT that does not exist."""
    user = request.user
    if not (user.is_authenticated and user.is_worker and user.is_active):
        raise Http404
    visible = project_list_open_to_worker(worker=user).values("pk")
    hit = MturkHIT.objects.filter(
        hit_id=hit_id, disposed_at__isnull=True, hit_type__project__in=visible
    ).first()
    if hit is None or hit.question_kind != MturkHIT.QuestionKind.HTML:
        raise Http404
    if not may_see_question(worker=user, hit_type=hit.hit_type):  # PreviewAndAccept
        raise Http404
    response = HttpResponse(html_served(question_parse(hit.question).html))
    response["Content-Security-Policy"] = HTML_QUESTION_CSP
    return response


def html_served(html: str) -> str:
    """The requester's HTML, with MTurk's hard-coded submit addresses turned into ours."""
    ours = submit_origin() + SUBMIT_PATH
    for address in MTURK_SUBMIT_URLS:
        html = html.replace(address, ours)
    return html


def _refused(request: HttpRequest, status: int, message: str) -> HttpResponse:
    response = render(request, "mturk/refused.html", {"message": message}, status=status)
    return _framed(response)


def _framed(response: HttpResponse) -> HttpResponse:
    response._csp_replace = FRAMED_CSP  # type: ignore[attr-defined]
    return response
