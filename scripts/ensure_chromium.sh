#!/bin/sh
# Make sure the Chromium the browser tests drive (/usr/bin/chromium, see
# tests/browser/conftest.py) is installed. Called by `make test` and .ci/run.
# As root it installs Debian's package with apt-get; otherwise it stops at once
# with one line saying what to install. Prints nothing when Chromium is there.
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ERROR: the browser tests need Chromium at $CHROMIUM; install it (Debian/Ubuntu: sudo apt-get install chromium) and run make test again" >&2
  exit 1
fi

echo "Chromium is missing; installing it with apt-get (once)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends chromium </dev/null >/dev/null
if [ ! -x "$CHROMIUM" ]; then
  echo "ERROR: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
"$CHROMIUM" --version 2>/dev/null
