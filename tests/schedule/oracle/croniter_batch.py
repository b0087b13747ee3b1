#!/usr/bin/python3
"""Batch oracle for oracle_croniter_test: next fire times of 5-field cron expressions by croniter.

Input (argv[1]), one job per line, tab-separated:
    EXPR <TAB> BASE_UNIX_SECONDS <TAB> COUNT <TAB> VIXIE_OR <TAB> ZONE
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
"""
import datetime
import sys
import zoneinfo

from croniter import croniter, CroniterBadDateError


def run(expr, base, count, zone, day_or=True):
    tz = datetime.timezone.utc if zone == "UTC" else zoneinfo.ZoneInfo(zone)
    start = datetime.datetime.fromtimestamp(base, tz)
    try:
        it = croniter(expr, start, day_or=day_or)
    except Exception as e:  # croniter raises several types for bad syntax
        return "error:" + type(e).__name__
    out = []
    try:
        for _ in range(count):
            out.append(str(int(it.get_next(float))))
    except (CroniterBadDateError, ValueError, OverflowError):
        # No match within croniter's search window (or past year 9999).
        if not out:
            return "never"
    return " ".join(out)


def croniter_ors(expr):
    expanded, _ = croniter.expand(expr)
    return expanded[2][0] != "*" and expanded[4][0] != "*"


def main():
    with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as out:
        for line in f:
            expr, base, count, vixie_or, zone = line.rstrip("\n").split("\t")
            base, count, vixie_or = int(base), int(count), vixie_or == "1"
            try:
                cron_or = croniter_ors(expr)
            except Exception as e:
                out.write("same\terror:%s\t-\n" % type(e).__name__)
                continue
            if cron_or == vixie_or:
                out.write("same\t%s\t-\n" % run(expr, base, count, zone))
                continue
            plain = run(expr, base, count, zone)
            if not vixie_or:
                out.write("and\t%s\t%s\n" % (run(expr, base, count, zone, day_or=False), plain))
            else:
                f5 = expr.split()
                everyday = " ".join(f5[:2] + ["*", f5[3], "*"])
                out.write("everyday\t%s\t%s\n" % (run(everyday, base, count, zone), plain))


if __name__ == "__main__":
    main()
