"""`retain report`, `retain check` and `retain diff` against fixtures/growing.c.

Two instances of growing.c, with 10 and 50 cached requests (each a struct
request holding a 4096-byte buffer, plus 2 leaked 24-byte blocks per
request). Each core is saved with `retain report --json FILE`; `retain diff`
of the two must name the growth exactly; `retain check` passes on the small
one and fails (exit status 1, with a chain) on the big one."""

import json
import re

import pytest

from conftest import json_lines, make_target, require_retain, retain_json, run_retain

FIXTURE = "growing.c"
SMALL, BIG = 10, 50


def retain_lines(err):
    return [l for l in err.splitlines() if l.startswith("retain:")]


def assert_one_error(rc, out, err, *words):
    assert rc == 1, f"expected status 1, got {rc}:\n{out}\n{err}"
    lines = retain_lines(err)
    assert len(lines) == 1, f"expected one 'retain:' line on stderr:\n{err}"
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def small(fixture_cache):
    require_retain()
    return make_target(fixture_cache.get(FIXTURE, (str(SMALL),)), "core")


@pytest.fixture(scope="module")
def big(fixture_cache):
    require_retain()
    return make_target(fixture_cache.get(FIXTURE, (str(BIG),)), "core")


@pytest.fixture(scope="module")
def reports(small, big, tmp_path_factory):
    d = tmp_path_factory.mktemp("reports")
    paths = {}
    for name, t in (("small", small), ("big", big)):
        path = d / f"{name}.json"
        rc, out, err = run_retain(t, f"retain report --json {path} --top 5")
        assert rc == 0, f"{out}\n{err}"
        assert f"retain report: wrote {path}" in out, out
        paths[name] = path
    return paths


def test_truth(small, big):
    assert small.truth["requests"] == SMALL and big.truth["requests"] == BIG
    assert big.truth["leaked_bytes"] == BIG * 2 * big.truth["leak_size"]


def test_report_document(reports, small):
    doc = json.loads(reports["small"].read_text())
    assert doc["schema"] == "retain/1" and doc["command"] == "report", doc.keys()
    for k in ("stats", "top", "histogram", "leaks", "incomplete", "warnings"):
        assert k in doc, k
    assert doc["incomplete"] is False, doc["warnings"]
    assert set(doc["top"]) == {"block", "type", "root"}
    for by in ("block", "type", "root"):
        entries = doc["top"][by]["entries"]
        assert 0 < len(entries) <= 5, (by, entries)
        assert all("chain" in e for e in entries)
    assert doc["top"]["type"]["entries"][0]["type"] == "struct request"
    assert doc["top"]["type"]["entries"][0]["retained"] == small.truth["retained"]
    assert "g_requests" in doc["top"]["type"]["entries"][0]["chain"]
    rows = {r["type"]: r for r in doc["histogram"]["rows"] if r["type"]}
    assert rows["struct request"]["count"] == SMALL
    assert rows["struct request"]["bytes"] == SMALL * small.truth["request_size"]
    assert doc["leaks"]["leaked_blocks"] == small.truth["leaked_blocks"]
    assert doc["leaks"]["leaked_bytes"] == small.truth["leaked_bytes"]
    assert doc["stats"]["blocks"]["in_use"] > 3 * SMALL


def test_report_text_and_stdout_json(small):
    t = make_target(small.process, "live")
    rc, out, err = run_retain(t, "retain report --top 3")
    assert rc == 0, err
    for head in ("== stats", "== top 3 by block", "== top 3 by type", "== top 3 by root", "== histogram",
                 "== leaks"):
        assert head in out, out
    assert "struct request" in out and "g_requests" in out
    ans = retain_json(t, "retain report --top 2 --json")
    assert len(ans["top"]["root"]["entries"]) <= 2
    assert ans["leaks"]["leaked_bytes"] == small.truth["leaked_bytes"]


def test_diff_json(reports, small, big):
    ans = retain_json(None, f"retain diff {reports['small']} {reports['big']} --json")
    delta = BIG - SMALL
    types = ans["types"]
    assert types, ans
    # the biggest growth: the requests' buffers, then the requests
    buf = types[0]
    assert buf["type"] == "char[]" or buf["size"] == big.truth["buf_size"], types
    assert buf["count_new"] - buf["count_old"] == delta
    assert buf["delta_bytes"] == delta * big.truth["buf_size"]
    req = next(r for r in types if r["type"] == "struct request")
    assert (req["count_old"], req["count_new"]) == (SMALL, BIG)
    assert req["delta_bytes"] == delta * big.truth["request_size"]
    assert types.index(req) == 1, types
    for r in types:
        assert set(r) >= {"type", "size", "count_old", "count_new", "bytes_old", "bytes_new", "delta_bytes"}
    deltas = [r["delta_bytes"] for r in types]
    assert deltas == sorted(deltas, reverse=True)
    ret = ans["retained"][0]
    assert ret["type"] == "struct request", ans["retained"]
    assert ret["count_new"] - ret["count_old"] == delta
    assert ret["delta_bytes"] == big.truth["retained"] - small.truth["retained"]
    root = ans["roots"][0]
    assert root["root"] == "global g_requests", ans["roots"]
    assert root["delta_bytes"] == big.truth["retained"] - small.truth["retained"]


def test_diff_text(reports):
    rc, out, err = run_retain(None, f"retain diff {reports['small']} {reports['big']}")
    assert rc == 0, err
    lines = out.splitlines()
    i = lines.index("retained by type that grew (top by type):")
    assert "struct request" in lines[i + 1] and "+40 blocks" in lines[i + 1], out
    assert "global g_requests" in out


def test_diff_same_report_nothing_grew(reports):
    ans = retain_json(None, f"retain diff {reports['small']} {reports['small']} --json")
    assert ans["types"] == [] and ans["roots"] == [] and ans["retained"] == []


def test_diff_errors(reports, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    other = tmp_path / "other.json"
    other.write_text('{"schema": "retain/1", "command": "stats"}')
    missing = tmp_path / "missing.json"
    ok = reports["small"]
    for args, word in ((f"{missing} {ok}", "cannot read"), (f"{ok} {bad}", "not JSON"),
                       (f"{other} {ok}", "not a 'retain report --json' file"), (f"{ok}", "two report files")):
        rc, out, err = run_retain(None, f"retain diff {args}")
        assert_one_error(rc, out, err, word)


# ---- check -------------------------------------------------------------------------

def test_check_max_retained(small, big):
    cmd = "retain check --max-retained 'struct request=100K'"
    rc, out, err = run_retain(small, cmd)
    assert rc == 0, f"{out}\n{err}"
    assert "retain check: the condition holds" in out, out
    rc, out, err = run_retain(big, cmd)
    assert_one_error(rc, out, err, "check failed", "max-retained")
    assert "FAIL max-retained" in out
    assert "%d bytes (limit %d)" % (big.truth["retained"], 100 * 1024) in out, out
    assert "global g_requests" in out, out   # the chain


def test_check_json(small, big):
    ans = retain_json(small, "retain check --max-retained 'struct request=100K' --max-leaked 1M")
    assert ans["ok"] is True
    assert [c["kind"] for c in ans["conditions"]] == ["max-retained", "max-leaked"]
    assert ans["conditions"][0]["value"] == small.truth["retained"]
    assert ans["conditions"][0]["limit"] == 100 * 1024
    rc, out, err = run_retain(big, "retain check --max-retained 'struct request=100K' --json")
    assert rc == 1
    (ans,) = json_lines(out)
    assert ans["command"] == "check" and ans["ok"] is False
    c = ans["conditions"][0]
    assert set(c) >= {"kind", "spec", "ok", "value", "limit", "chain"}
    assert c["ok"] is False and c["value"] == big.truth["retained"]
    assert "g_requests" in c["chain"]


def test_check_max_leaked_exact(big):
    leaked = big.truth["leaked_bytes"]
    rc, out, err = run_retain(big, f"retain check --max-leaked {leaked}")
    assert rc == 0, f"{out}\n{err}"
    rc, out, err = run_retain(big, f"retain check --max-leaked {leaked - 1}")
    assert_one_error(rc, out, err, "max-leaked")
    assert "leaked: %d bytes in %d blocks" % (leaked, big.truth["leaked_blocks"]) in out, out
    rc, out, err = run_retain(big, "retain check --max-leaked 2K --json")
    (ans,) = json_lines(out)
    assert ans["conditions"][0]["value"] == leaked and ans["conditions"][0]["limit"] == 2048
    assert (rc == 0) == (leaked <= 2048)


def test_check_no_path(big):
    rc, out, err = run_retain(big, "retain check --no-path-from '^g_config$' --to '^struct request$'")
    assert rc == 0, f"{out}\n{err}"
    assert "retain check: the condition holds" in out
    rc, out, err = run_retain(big, "retain check --no-path-from '^g_requests$' --to '^struct request$'")
    assert_one_error(rc, out, err, "no-path")
    assert "%d of %d checked" % (BIG, BIG) in out, out
    assert "for example: global g_requests" in out, out


def test_check_several_and_exit_on_error(small, big):
    cmd = ("retain check --max-retained 'struct request=100K' --max-retained 'char=1M' "
           "--max-leaked 64K --no-path-from '^g_config$' --to 'struct request'")
    rc, out, err = run_retain(small, cmd)
    assert rc == 0 and "all 4 conditions hold" in out, f"{out}\n{err}"
    # not the last command: exit-on-error makes it fail gdb at once
    rc, out, err = run_retain(big, "set retain exit-on-error on", cmd, "retain stats")
    assert_one_error(rc, out, err, "check failed")
    assert "heap: glibc" not in out


@pytest.mark.parametrize("args,word", [
    ("--max-retained 'struct request=12Q'", "12Q"),
    ("--max-leaked 12Q", "12Q"),
    ("--max-retained 'struct request'", "TYPE_REGEX=SIZE"),
    ("--max-retained '(=1K'", "--max-retained"),
    ("--no-path-from '(' --to x", "--no-path-from"),
    ("--no-path-from g_requests", "--to"),
    ("", "at least one condition"),
])
def test_check_bad_input(small, args, word):
    rc, out, err = run_retain(small, f"retain check {args}")
    assert_one_error(rc, out, err, word)


def test_report_bad_input(small, tmp_path):
    rc, out, err = run_retain(small, "retain report --top 0")
    assert_one_error(rc, out, err, "--top")
    rc, out, err = run_retain(small, f"retain report --json {tmp_path}/no/such/dir/r.json")
    assert_one_error(rc, out, err, "cannot write")
