"""Turn a batch's languages into every chart its briefs can show, drawn before the workers start.

Drawing a chart the first time imports matplotlib (about a second): charged to a worker, it could
push a stakeholder's first brief over the per-brief time limit. So the parent draws each key
figure's chart once per language the batch needs, with the batch's theme, before any worker
starts: the drawings land in the per-user cache (:mod:`briefgen.pictures.kept`), and forked
workers also inherit them in memory. A worker then draws nothing and never imports matplotlib.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from .plan import BatchRequest


def draw_ahead(request: BatchRequest, languages: Iterable[str | None]) -> None:
    """Draw every key figure's chart in each of ``languages`` (None: the content's own); a chart
    that cannot be drawn here is left for its briefs, which fail or warn as they would have."""
    from ..i18n import language as catalogue
    from ..pictures.build import chart_picture, colours_of
    from ..render import template_dirs
    from ..theme import load
    from ..translate import validated

    with contextlib.suppress(Exception):
        colours = colours_of(load(request.theme) if request.theme is not None else None)
        for language in dict.fromkeys(languages):
            speaking = validated(request.content, language)
            lang = catalogue(speaking.language, template_dirs(request.templates))
            for figure in speaking.content.strategy.figures:
                if figure.chart is not None:
                    chart_picture(figure, colours, lang)
