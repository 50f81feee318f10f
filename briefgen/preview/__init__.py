"""Turn content, templates and a theme into a live preview in the browser: ``briefgen preview``.

One job per module: :mod:`.choices` turns the page's switchers (query parameters) into a checked
choice, :mod:`.problems` turns a failed rebuild into ``file:line:col: message`` lines,
:mod:`.rebuild` rebuilds the brief (HTML at once in the main thread, under the build's limits;
PDF and Word in :mod:`.worker` processes), :mod:`.watch` turns saved files into rebuilds,
:mod:`.app` is the web server's application (Starlette), :mod:`.server` runs it all, and
:mod:`.browser` opens the page. The page itself is static: ``static/`` (HTML, JavaScript, CSS).
"""
