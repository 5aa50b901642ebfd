"""Rendering notification templates in a Jinja2 sandbox.

Templates are written by admins, so they run in :class:`TemplateSandbox`: no access to
private attributes or Python internals (``''.__class__`` is a ``SecurityError``), no
``range`` global, and repetition (``'x' * n``, ``n ** m``) kept small, so a template can
neither reach the process nor make it spin. Autoescaping is off: these are text e-mails.

A template is checked when saved by rendering it against :data:`SAMPLE_CONTEXT` with
strict undefined variables, so a typo or a refused construct is a 422 then, not a
failed e-mail later. At send time variables missing for a given type render empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from services.notification.catalog import DEFAULT_TEMPLATES, SAMPLE_CONTEXT

MAX_SUBJECT = 255
MAX_BODY = 20_000
_MAX_REPEAT = 10_000
_MAX_EXPONENT = 64


class TemplateSandbox(SandboxedEnvironment):
    """The sandbox with repetition bounded and the ``range`` global removed."""

    intercepted_binops = frozenset(["*", "**"])

    def __init__(self, **options: Any) -> None:
        super().__init__(autoescape=False, keep_trailing_newline=True, **options)
        self.globals.pop("range", None)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > _MAX_EXPONENT:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                repeats = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if repeats and len(seq) * times > _MAX_REPEAT:
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


_strict = TemplateSandbox(undefined=StrictUndefined)
_lenient = TemplateSandbox(undefined=ChainableUndefined)


@dataclass(frozen=True)
class TemplateText:
    """The parts of a template that render: a subject, a body and its channel."""

    name: str
    subject: str
    body: str
    channel: str = "both"


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def template_errors(
    subject: str, body: str, extra_context: dict[str, Any] | None = None
) -> dict[str, list[str]]:
    """Why a template cannot be used, per field (empty when it renders with the sample
    context, plus ``extra_context``)."""
    context = {**SAMPLE_CONTEXT, **(extra_context or {})}
    errors: dict[str, list[str]] = {}
    for field, source in (("subject", subject), ("body", body)):
        try:
            _strict.from_string(source).render(context)
        except SecurityError as exc:
            errors[field] = [f"Not allowed in a template: {exc}"]
        except TemplateError as exc:
            errors[field] = [f"Does not render: {exc}"]
        except Exception as exc:  # arithmetic and type errors from the template itself
            errors[field] = [f"Does not render: {type(exc).__name__}: {exc}"]
    return errors


def render(template: TemplateText, context: dict[str, Any]) -> Rendered:
    """Render a template; if it fails on this context, fall back to the built-in default."""
    try:
        return _render_with(_lenient, template, context)
    except Exception:
        default = DEFAULT_TEMPLATES.get(template.name)
        if default is None:
            raise
        return _render_with(
            _lenient, TemplateText(default.name, default.subject, default.body), context
        )


def _render_with(env: TemplateSandbox, template: TemplateText, context: dict[str, Any]) -> Rendered:
    subject = env.from_string(template.subject).render(context)
    body = env.from_string(template.body).render(context)
    # One line, bounded: a header must not carry newlines.
    subject = re.sub(r"\s+", " ", subject).strip()[:MAX_SUBJECT]
    return Rendered(subject or template.name, body[:MAX_BODY])
