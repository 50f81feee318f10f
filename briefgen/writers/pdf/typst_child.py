"""Turn one Typst compile job (JSON on stdin) into PDF bytes on stdout, in a child process.

Run by :func:`.typst_engine.compile_apart` for a template a user brings: the parent bounds the
time, this process bounds its own memory, every proxy variable points at a closed local port and
the package folders are empty (a package import that slipped past the parent's check can neither
be found nor downloaded), and the compiler's root is the staging folder, so ``read()`` sees
nothing else. An error is one line on stderr and exit status 1.
"""

from __future__ import annotations

import json
import os
import resource
import sys

#: A local port nothing listens on: every download attempt fails at once.
NOWHERE = "http://127.0.0.1:9"


def main() -> int:
    job = json.loads(sys.stdin.buffer.read())
    limit = int(job["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        os.environ[name] = NOWHERE
    for name in ("NO_PROXY", "no_proxy"):
        os.environ.pop(name, None)
    import typst

    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=[job["fonts"]])
    os.makedirs(job["packages"], exist_ok=True)
    compiler = typst.Compiler(
        root=job["root"],
        font_paths=fonts,
        ignore_system_fonts=True,
        package_path=job["packages"],
        package_cache_path=job["packages"],
    )
    try:
        pdf = compiler.compile(
            input=os.path.join(job["root"], job["main"]),
            pdf_standards=job["standards"],
            timestamp=job["timestamp"],
            pdf_tags=True,
        )
    except typst.TypstError as exc:
        message = " ".join(str(getattr(exc, "message", exc)).split())
        sys.stderr.write(f"Typst: {message}\n")
        return 1
    except MemoryError:
        sys.stderr.write("Typst: the template used more memory than the limit\n")
        return 1
    sys.stdout.buffer.write(bytes(pdf))
    return 0


if __name__ == "__main__":
    sys.exit(main())
