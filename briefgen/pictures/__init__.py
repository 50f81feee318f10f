"""Turn a Brief into its pictures: the strategy at a glance and the key figures' charts.

* :mod:`.series` checks a chart's data on raw content (places for file:line:col errors) and
  turns values into the brief language's numbers and alternative text;
* :mod:`.chart` turns a series into a Vega-Lite specification, drawn as SVG or PNG by
  vl-convert (no browser) in the shipped fonts and the theme's colours;
* :mod:`.text` measures and wraps text in the shipped fonts, for layouts computed in Python;
* :mod:`.glance` lays out the objectives, focus areas and recommendations as an SVG diagram;
* :mod:`.build` gathers what a template shows: each picture's SVG, alternative text, caption
  and data table.
"""
