#!/usr/bin/python3
"""Batch oracle for oracle_croniter_test: next fire times of 5-field cron expressions by croniter.

Input (argv[1]), one job per line, tab-separated:
    EXPR <TAB> BASE_UNIX_SECONDS <TAB> COUNT <TAB> VIXIE_OR <TAB> ZONE
EXPR has 5 fields, or 6 with seconds last (croniter's order).
VIXIE_OR is 1 when Vixie/Debian cron combines day-of-month and day-of-week with OR (neither field
starts with '*'), else 0. ZONE is an IANA name ("UTC" for the bulk comparison).

Output (argv[2]), one line per input line, tab-separated:
    MODE <TAB> RESULT <TAB> PLAIN
MODE says how croniter was asked, because croniter decides OR-vs-AND on the *expanded* sets
(a field whose values cover its whole range counts as '*') while Vixie cron decides on the text
(the field starts with '*'):
    same      croniter's own rule agrees with Vixie's; RESULT is plain croniter.
    and       Vixie ANDs ('*/2' style field) but croniter would OR: RESULT uses day_or=False.
    everyday  Vixie ORs with a field that covers every day (e.g. '1-31' or '0-6'), so every day
              matches; croniter would AND: RESULT uses both day fields as '*'.
RESULT and PLAIN (plain croniter, only for 'and'/'everyday', else '-') are space-separated Unix
seconds, or "never" when croniter finds no date, or "error:<message>" when croniter rejects it.
A fourth column counts the answers the month-end workaround below corrected.

croniter 1.3.5 bug worked around here (UTC only): with a day-of-month value larger than the current
month's length in the set (31 in February, say), the search steps to that nonexistent day, lands
a few days into the next month and skips its first days: "0 0 */5 * *" after 2026-02-27 gives
2026-03-06 instead of 2026-03-01. When an answer falls in a later month than the search start, the
search is repeated from the last second of the start month, where croniter starts in the next
month. No fire is lost by that: croniter found none before the end of the start month.
"""
import datetime
import sys
import zoneinfo

from croniter import croniter, CroniterBadDateError


UTC = datetime.timezone.utc
corrected = 0


def month_end(t):
    """The last second of the UTC month of Unix time t."""
    d = datetime.datetime.fromtimestamp(t, UTC)
    first_next = datetime.datetime(d.year + d.month // 12, d.month % 12 + 1, 1, tzinfo=UTC)
    return int(first_next.timestamp()) - 1


def next_after(it, t, tz):
    global corrected
    answer = it.get_next(float, datetime.datetime.fromtimestamp(t, tz))
    while tz is UTC:
        end = month_end(t) if month_end(t) > t else month_end(t + 1)
        if answer <= end:
            break
        if datetime.datetime.fromtimestamp(end, UTC).day < 31:  # only short months trigger the bug
            retry = it.get_next(float, datetime.datetime.fromtimestamp(end, tz))
            if retry < answer:
                corrected += 1
                answer = retry
        t = end
    return int(answer)


def run(expr, base, count, zone, day_or=True):
    tz = UTC if zone == "UTC" else zoneinfo.ZoneInfo(zone)
    try:
        it = croniter(expr, datetime.datetime.fromtimestamp(base, tz), day_or=day_or)
    except Exception as e:  # croniter raises several types for bad syntax
        return "error:" + type(e).__name__
    out, t = [], base
    try:
        for _ in range(count):
            t = next_after(it, t, tz)
            out.append(str(t))
    except (CroniterBadDateError, ValueError, OverflowError):
        # No match within croniter's search window (or past year 9999).
        if not out:
            return "never"
    return " ".join(out)


def croniter_ors(expr):
    expanded, _ = croniter.expand(expr)
    return expanded[2][0] != "*" and expanded[4][0] != "*"


def main():
    global corrected
    with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as out:
        for line in f:
            corrected = 0
            expr, base, count, vixie_or, zone = line.rstrip("\n").split("\t")
            base, count, vixie_or = int(base), int(count), vixie_or == "1"
            try:
                cron_or = croniter_ors(expr)
            except Exception as e:
                out.write("same\terror:%s\t-\t0\n" % type(e).__name__)
                continue
            if cron_or == vixie_or:
                out.write("same\t%s\t-\t%d\n" % (run(expr, base, count, zone), corrected))
                continue
            plain = run(expr, base, count, zone)
            if not vixie_or:
                result = run(expr, base, count, zone, day_or=False)
                out.write("and\t%s\t%s\t%d\n" % (result, plain, corrected))
            else:
                f5 = expr.split()
                everyday = " ".join(f5[:2] + ["*", f5[3], "*"] + f5[5:])  # keeps a seconds field
                result = run(everyday, base, count, zone)
                out.write("everyday\t%s\t%s\t%d\n" % (result, plain, corrected))


if __name__ == "__main__":
    main()
