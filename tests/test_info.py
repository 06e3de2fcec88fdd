"""`retain info` against fixtures/basics.c, live and core."""

from conftest import check_block, h, retain_json, retain_json_many, run_retain

FIXTURE = "basics.c"


def check_info(ans):
    assert ans["command"] == "info"
    check_block(ans)
    assert "distance" in ans and "reachable" in ans, ans
    assert isinstance(ans["reachable"], bool)
    if ans["distance"] is None:
        assert ans["reachable"] is False or ans["state"] != "in-use", ans
    else:
        assert isinstance(ans["distance"], int) and ans["distance"] >= 1
        assert ans["reachable"] is True
    return ans


def infos(target, addrs):
    answers = retain_json_many(target, [f"retain info {a}" for a in addrs])
    for a, ans in zip(addrs, answers):
        assert "error" not in ans, (a, ans)
        check_info(ans)
    return answers


def test_list_nodes_in_use_with_depth(target):
    t = target.truth["list"]
    ns = t["nodes"]
    picked = [ns[0], ns[1], ns[9], ns[30], ns[49]]
    for n, ans in zip(picked, infos(target, [n["addr"] for n in picked])):
        assert ans["state"] == "in-use"
        assert ans["heap"] == "main-arena"
        assert h(ans["block"]) == h(n["addr"]) == h(ans["query"])
        assert ans["offset"] == 0
        assert ans["size"] >= t["node_size"]
        assert ans["free_reason"] is None
        assert ans["distance"] == n["depth"]
        assert ans["reachable"] is True
    # payloads are one hop further
    p = [ns[0]["payload"], ns[20]["payload"]]
    a0, a20 = infos(target, p)
    assert a0["distance"] == 2 and a20["distance"] == 22
    assert a0["size"] >= t["payload_size"]


def test_table_entries_depth(target):
    entries = target.truth["table"]["entries"][:40]
    for e, ans in zip(entries, infos(target, [e["addr"] for e in entries])):
        assert ans["state"] == "in-use"
        assert ans["distance"] == e["depth"] == e["pos"] + 1, e


def test_freed_blocks(target):
    freed = target.truth["freed"]
    for f, ans in zip(freed, infos(target, [f["addr"] for f in freed])):
        assert ans["state"] == "free", ans
        assert ans["free_reason"] == f["free_reason"], (f, ans)
        assert h(ans["block"]) == h(f["addr"])
        assert ans["size"] >= f["size"]
        assert ans["reachable"] is False or ans["distance"] is None


def test_interior_query(target):
    t = target.truth["interior"]
    ans, = infos(target, [hex(h(t["block"]) + t["offset"])])
    assert h(ans["block"]) == h(t["block"])
    assert ans["offset"] == 40
    assert ans["size"] >= t["size"]
    assert ans["distance"] == 1


def test_heap_kinds(target):
    t = target.truth
    addrs = [a["addr"] for a in t["arena"]] + [t["mmapped"]["addr"], t["tls"]["addr"]]
    answers = infos(target, addrs)
    for ans in answers[:3]:
        assert ans["heap"] == "arena" and ans["state"] == "in-use"
        assert ans["distance"] == 1
    assert answers[3]["heap"] == "mmapped"
    assert answers[3]["size"] >= t["mmapped"]["size"]
    assert answers[3]["distance"] == 1
    assert answers[4]["heap"] == "arena"        # the TLS block came from thread 2's arena
    assert answers[4]["distance"] == 1


def test_stack_and_register_held_blocks(target):
    t = target.truth
    loc, reg = infos(target, [t["local"]["addr"], t["register"]["addr"]])
    for ans in (loc, reg):
        assert ans["state"] == "in-use" and ans["heap"] == "main-arena"
        assert ans["distance"] == 1 and ans["reachable"] is True
    assert loc["size"] >= t["local"]["size"]
    assert reg["size"] >= t["register"]["size"]


def test_unreachable_cycle(target):
    for ans in infos(target, target.truth["cycle"]["nodes"]):
        assert ans["state"] == "in-use"
        assert ans["reachable"] is False
        assert ans["distance"] is None


def test_not_heap_addresses(target):
    nh = target.truth["not_heap"]
    for ans in infos(target, [nh["code"], nh["stack"], "&main"]):
        assert ans["state"] == "not-heap", ans
        assert ans["block"] is None
        assert ans["reachable"] is False and ans["distance"] is None


def test_info_text(target):
    n = target.truth["list"]["nodes"][4]
    rc, out, err = run_retain(target, f"retain info {n['addr']}")
    assert rc == 0, err
    assert "in-use" in out or "in use" in out
    assert "5" in out  # the distance


def test_info_single_json(target):
    """The plain -ex path (not the script runner) gives the same answer."""
    n = target.truth["list"]["nodes"][2]
    ans = check_info(retain_json(target, f"retain info {n['addr']}"))
    assert ans["distance"] == 3
