#!/usr/bin/env bash
# Set up briefgen on a fresh Debian or Ubuntu machine: system libraries, then a
# virtual environment in .venv with briefgen installed (with --test: the test extra too).
#
#   bash scripts/setup.sh            # to build briefs
#   bash scripts/setup.sh --test     # to run the tests as well
#   bash scripts/setup.sh --bench    # to run benchmarks/run.py (pandoc and Typst baselines)
#
# System packages (installed with apt-get when run as root or with sudo; otherwise listed):
#   libpango-1.0-0 libpangoft2-1.0-0   text layout for WeasyPrint (required for PDF)
#   libharfbuzz-subset0                fast font subsetting (without it PDFs are slower)
#   poppler-utils                      pdftoppm/pdfinfo, to look at PDFs (optional)
#   libreoffice-writer-nogui python3-uno
#                                      LibreOffice and its Python bridge: Word briefs carry their
#                                      contents page numbers and open without a prompt
#                                      (--docx-pages); the tests lay Word files out with it
#                                      (installed with --test; optional otherwise)
#   chromium chromium-driver           headless browser the preview tests drive (installed with --test)
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
packages="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils"
for flag in "$@"; do
  case "$flag" in
    --test) extras="$extras,test"; packages="$packages libreoffice-writer-nogui python3-uno chromium chromium-driver" ;;
    --bench) extras="$extras,bench" ;;
    *) echo "setup: unknown option $flag (use --test and/or --bench)" >&2; exit 2 ;;
  esac
done
extra=""
[ -n "$extras" ] && extra="[${extras#,}]"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Wait up to five minutes for another package manager (unattended-upgrades, a second apt) to
# release the dpkg lock instead of failing at once.
apt_wait="-o DPkg::Lock::Timeout=300"
if [ -n "$missing" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing system packages:$missing"
    apt-get $apt_wait update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get $apt_wait install -y -qq $missing >/dev/null
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing system packages:$missing"
    sudo apt-get $apt_wait update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get $apt_wait install -y -qq $missing >/dev/null
  else
    echo "setup: please install these system packages:$missing" >&2
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".$extra"
.venv/bin/briefgen doctor || true
