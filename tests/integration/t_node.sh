#!/usr/bin/env bash
# placeholder
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 1
ok placeholder
