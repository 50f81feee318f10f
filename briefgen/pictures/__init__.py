"""Turn a Brief into its pictures: the strategy at a glance and the key figures' charts.

* :mod:`.series` checks a chart's data on raw content (places for file:line:col errors) and
  turns values into the brief language's numbers and alternative text;
* :mod:`.chart` draws a series as SVG with matplotlib in the shipped fonts and the theme's colours,
  and any SVG as PNG with vl-convert (for Word);
* :mod:`.text` measures and wraps text in the shipped fonts, for layouts computed in Python;
* :mod:`.glance` lays out the objectives, focus areas and recommendations as an SVG diagram;
* :mod:`.build` gathers what a template shows: each picture's SVG, alternative text, caption
  and data table.
"""
