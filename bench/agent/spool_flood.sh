#!/bin/sh
# Issue 18 item 4 at its real size: one unprivileged user fills the spool folder with 300,000
# empty run files, 2,000 directories named like run files and a name with a newline and ESC
# bytes, while root's job fails 20 times into the spool and 200 honest runs ask for their ack.
# Prints the agent's CPU seconds, how long root's failures waited to be read (and alerted),
# honest acks within the 1 s budget, and the log's size. It is the reliability test
# SpoolAttack.AFloodOfEmptyFilesDirectoriesAndOddNamesHoldsBackNothing (5,000 files in ctest)
# at full size; it makes users (useradd), so it needs root.
# Usage: bench/agent/spool_flood.sh [BUILD_DIR] [FILES]   (default: build 300000)
# CRONITOR_TEST_AGENT_BIN / CRONITOR_TEST_EXEC_BIN: other binaries (e.g. an older build).
set -eu
BUILD=${1:-build}
FILES=${2:-300000}
export CRONITOR_TEST_SPOOL_FILES="$FILES" CRONITOR_TEST_SPOOL_WAIT_S=${CRONITOR_TEST_SPOOL_WAIT_S:-600}
export CRONITOR_TEST_USER_PREFIX=${CRONITOR_TEST_USER_PREFIX:-spoolflood-}
"$BUILD/bin/reliability_spool_attack_test" \
  --gtest_filter='SpoolAttack.AFloodOfEmptyFilesDirectoriesAndOddNamesHoldsBackNothing' 2>&1 |
  grep -a -e 'empty spool files' -e 'Failure' -e '^\[  FAILED' -e '^\[       OK' -A3
