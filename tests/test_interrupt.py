"""Ctrl-C during the scan (a real SIGINT, sent from inside the scan's
progress hook, so the timing is certain): the command stops with one
`retain:` line, nothing half-built is kept, and the next command builds the
whole graph again. fixtures/basics.c, live and core."""

from conftest import json_lines, retain_json, run_retain

FIXTURE = "basics.c"

SEND_SIGINT = ("python import os, signal, retain.engine as e; _orig = e._Progress.__call__; "
               "e._Progress.__call__ = lambda self, *a: os.kill(os.getpid(), signal.SIGINT)")
RESTORE = "python e._Progress.__call__ = _orig"


def test_sigint_stops_the_scan_and_the_next_command_starts_over(target):
    whole = retain_json(target, "retain stats")
    rc, out, err = run_retain(target, SEND_SIGINT, "retain stats --json", RESTORE, "retain stats --json")
    assert "retain: interrupted" in err, err
    answers = json_lines(out)
    assert len(answers) == 1, out                  # only the second command answered
    (again,) = answers
    assert again["edges"] == whole["edges"] and again["blocks"] == whole["blocks"]
    assert again["root_edges"] == whole["root_edges"]
