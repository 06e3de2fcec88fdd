"""`retain path` against fixtures/basics.c, live and from a core."""

import re

from conftest import (check_path_answer, gdb_script, h, retain_json, root_identity,
                      run_retain)

FIXTURE = "basics.c"


def nodes(target):
    return target.truth["list"]["nodes"]


def path_of(target, addr, opts=""):
    return check_path_answer(retain_json(target, f"retain path {addr} {opts}".rstrip()))


def threads_and_answers(target, cmds):
    """gdb thread numbers by LWP, and the answers, from one gdb session."""
    res = gdb_script(target, "out['threads'] = thread_numbers()\n"
                             "out['answers'] = [retain(c) for c in ARGS]", args=cmds)
    return res["threads"], res["answers"]


def assert_list_chain(target, hops):
    ns = nodes(target)
    assert len(hops) == len(ns) == 50
    for i, hop in enumerate(hops):
        assert h(hop["addr"]) == h(ns[i]["addr"]), f"hop {i}"
        assert hop["interior"] == 0
        assert hop["size"] >= target.truth["list"]["node_size"]
        assert hop["type"] == "struct node", hop
    for i, hop in enumerate(hops[1:], start=1):
        assert hop["field"] == ".next", f"hop {i}: {hop}"
        assert hop["offset"] == 0
        assert h(hop["slot"]) == h(ns[i - 1]["addr"])
        assert h(hop["pointer"]) == h(ns[i]["addr"])


def test_list_tail_from_global(target):
    t = target.truth["list"]
    tail = t["nodes"][-1]
    ans = path_of(target, tail["addr"], "--kind global")
    assert ans["reachable"] is True
    assert ans["truncated"] is False
    assert ans["target"]["state"] == "in-use"
    assert ans["target"]["heap"] == "main-arena"
    assert h(ans["target"]["block"]) == h(tail["addr"])
    p = ans["paths"][0]
    root = p["root"]
    assert root["kind"] == "global"
    assert root["name"] == t["global"]
    assert h(root["addr"]) == h(t["global_addr"])
    assert root["offset"] == 0
    assert root["precise"] is True
    assert root["thread"] is None and root["frame"] is None
    assert len(p["hops"]) == tail["depth"] == 50
    assert_list_chain(target, p["hops"])


def test_list_tail_default_kinds(target):
    """Without --kind, the fixture's scrubbed stacks leave g_list the nearest root."""
    tail = nodes(target)[-1]
    ans = path_of(target, tail["addr"])
    p = ans["paths"][0]
    assert p["root"]["kind"] == "global" and p["root"]["name"] == "g_list", p["root"]
    assert_list_chain(target, p["hops"])


def test_list_middle_and_payload(target):
    ns = nodes(target)
    for i in (0, 1, 17):
        ans = path_of(target, ns[i]["addr"], "--kind global")
        assert len(ans["paths"][0]["hops"]) == ns[i]["depth"] == i + 1
        ans = path_of(target, ns[i]["payload"], "--kind global")
        hops = ans["paths"][0]["hops"]
        assert len(hops) == i + 2
        assert h(hops[-1]["addr"]) == h(ns[i]["payload"])
        assert hops[-1]["field"] == ".payload"
        assert hops[-1]["offset"] == 16
        assert hops[-1]["size"] >= target.truth["list"]["payload_size"]


def test_list_text_output_folds_repeats(target):
    tail = nodes(target)[-1]
    rc, out, err = run_retain(target, f"retain path {tail['addr']} --kind global")
    assert rc == 0, err
    assert "g_list" in out
    # the 49 (or so) ".next" hops fold into one line with a count
    assert re.search(r"(?<![0-9a-fA-F])(?<!0x)4[89](?![0-9a-fA-F])", out), out
    assert "next" in out
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) < 35, f"{len(lines)} lines: the chain was not folded:\n{out}"
    hexes = {int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]+", out)}
    assert h(tail["addr"]) in hexes, "the target's address is shown"


def test_hash_entry_via_bucket(target):
    t = target.truth["table"]
    entries = t["entries"]
    deepest = max(entries, key=lambda e: (e["pos"], -e["key"]))
    head = next(e for e in entries if e["pos"] == 0)
    assert deepest["pos"] >= 2
    for entry in (deepest, head):
        ans = path_of(target, entry["addr"])
        p = ans["paths"][0]
        root = p["root"]
        assert root["kind"] == "global" and root["name"] == t["global"], root
        assert root["offset"] == t["buckets_offset"] + 8 * entry["bucket"], root
        assert h(root["addr"]) == h(t["global_addr"]) + root["offset"]
        hops = p["hops"]
        assert len(hops) == entry["pos"] + 1 == entry["depth"]
        assert hops[0]["field"] == f".buckets[{entry['bucket']}]", hops[0]
        chain = sorted((e for e in entries if e["bucket"] == entry["bucket"]),
                       key=lambda e: e["pos"])
        for i, hop in enumerate(hops):
            assert h(hop["addr"]) == h(chain[i]["addr"])
            assert hop["type"] == "struct entry", hop
            if i:
                assert hop["field"] == ".next" and hop["offset"] == 0, hop


def test_local_only_block_is_a_stack_root(target):
    t = target.truth["local"]
    threads, (ans,) = threads_and_answers(target, [f"retain path {t['addr']} --json"])
    check_path_answer(ans)
    assert ans["reachable"] is True
    p = ans["paths"][0]
    root = p["root"]
    assert root["kind"] == "stack", root
    assert root["name"] == t["variable"] == "held_by_local"
    assert root["precise"] is True
    assert root["thread"] == threads[str(t["tid"])]
    assert root["frame"]["function"] == t["function"] == "hold_local"
    assert root["frame"]["level"] == t["frame_level"]
    assert h(root["addr"]) == h(t["var_addr"])
    assert root["type"] in ("char *", "char*"), root
    assert len(p["hops"]) == 1
    assert h(p["hops"][0]["addr"]) == h(t["addr"])


def test_register_only_block(target):
    t = target.truth["register"]
    threads, (ans,) = threads_and_answers(target, [f"retain path {t['addr']} --json"])
    check_path_answer(ans)
    assert ans["reachable"] is True
    root = ans["paths"][0]["root"]
    assert root["kind"] == "register", root
    assert root["name"] == t["register"] == "r12"
    assert root["addr"] is None
    assert root["thread"] == threads[str(t["tid"])]
    assert len(ans["paths"][0]["hops"]) == 1


def test_tls_block_of_second_thread(target):
    t = target.truth["tls"]
    threads, (ans,) = threads_and_answers(target, [f"retain path {t['addr']} --json"])
    check_path_answer(ans)
    root = ans["paths"][0]["root"]
    assert root["kind"] == "tls", root
    assert root["thread"] == threads[str(t["tid"])], (root, threads)
    assert root["thread"] != threads[str(target.truth["main_tid"])]
    assert h(root["addr"]) == h(t["var_addr"])
    assert len(ans["paths"][0]["hops"]) == 1
    assert ans["target"]["heap"] == "arena"


def test_tls_root_is_named(target):
    """DWARF places `tls_block` at that TLS address: the root is named and precise."""
    t = target.truth["tls"]
    ans = path_of(target, t["addr"])
    root = ans["paths"][0]["root"]
    assert root["kind"] == "tls"
    assert root["name"] == t["variable"] == "tls_block", root
    assert root["precise"] is True
    assert root["type"] in ("char *", "char*"), root


def test_non_main_arena_blocks(target):
    for a in target.truth["arena"]:
        ans = path_of(target, a["addr"], "--kind global")
        assert ans["target"]["heap"] == "arena"
        assert ans["target"]["size"] >= a["size"]
        root = ans["paths"][0]["root"]
        assert root["name"] == a["global"] and root["offset"] == 8 * a["index"], root
        assert h(root["addr"]) == h(a["global_addr"])
        assert len(ans["paths"][0]["hops"]) == 1


def test_mmapped_block(target):
    t = target.truth["mmapped"]
    ans = path_of(target, t["addr"], "--kind global")
    assert ans["target"]["heap"] == "mmapped"
    assert ans["target"]["size"] >= t["size"]
    assert ans["paths"][0]["root"]["name"] == t["global"]
    # an address in the middle of the block finds the same block
    ans = path_of(target, hex(h(t["addr"]) + 3 * 1024 * 1024 + 5), "--kind global")
    assert h(ans["target"]["block"]) == h(t["addr"])
    assert ans["target"]["offset"] == 3 * 1024 * 1024 + 5


def test_interior_pointer(target):
    t = target.truth["interior"]
    for query in (t["block"], hex(h(t["block"]) + t["offset"])):
        ans = path_of(target, query, "--kind global")
        assert h(ans["target"]["block"]) == h(t["block"])
        assert ans["target"]["offset"] == h(query) - h(t["block"])
        p = ans["paths"][0]
        assert p["root"]["name"] == t["global"]
        hop = p["hops"][-1]
        assert len(p["hops"]) == 1
        assert hop["interior"] == t["offset"] == 40
        assert h(hop["pointer"]) == h(t["block"]) + 40
        assert h(hop["addr"]) == h(t["block"])


def test_unreachable_cycle(target):
    for addr in target.truth["cycle"]["nodes"]:
        ans = path_of(target, addr)
        assert ans["target"]["state"] == "in-use"
        assert ans["reachable"] is False
        assert ans["paths"] == []
        assert ans["truncated"] is False


def test_two_roots_with_n(target):
    t = target.truth["two_roots"]
    ans = path_of(target, t["addr"], "-n 2 --kind global")
    assert len(ans["paths"]) == 2
    assert {p["root"]["name"] for p in ans["paths"]} == set(t["globals"])
    assert all(len(p["hops"]) == 1 for p in ans["paths"])
    # default kinds: still two paths from two distinct roots
    ans = path_of(target, t["addr"], "-n 2")
    assert len(ans["paths"]) == 2
    ids = [root_identity(p["root"]) for p in ans["paths"]]
    assert len(set(ids)) == 2, ids
    # -n 1 gives one
    ans = path_of(target, t["addr"], "-n 1 --kind global")
    assert len(ans["paths"]) == 1


def test_kind_filter_excludes_other_roots(target):
    t = target.truth["local"]
    ans = path_of(target, t["addr"], "--kind global,tls")
    assert ans["paths"] == [] and ans["reachable"] is False
    ans = path_of(target, t["addr"], "--kind stack")
    assert ans["paths"][0]["root"]["kind"] == "stack"


def test_max_depth_cuts_the_search(target):
    tail = nodes(target)[-1]
    ans = path_of(target, tail["addr"], "--kind global --max-depth 10")
    assert ans["truncated"] is True
    assert all(len(p["hops"]) <= 10 for p in ans["paths"])
    ans = path_of(target, nodes(target)[5]["addr"], "--kind global --max-depth 10")
    assert len(ans["paths"][0]["hops"]) == 6


def test_address_as_gdb_expression(target):
    """The address argument is a gdb expression."""
    ns = nodes(target)
    ans = path_of(target, "g_list->next->next", "--kind global")
    assert h(ans["target"]["block"]) == h(ns[2]["addr"])
    assert len(ans["paths"][0]["hops"]) == 3


def test_every_hop_is_real(target):
    """Each hop's slot really holds its pointer, which lies inside its block."""
    t = target.truth
    queries = [
        f"retain path {t['list']['nodes'][-1]['addr']} --kind global --json",
        f"retain path {t['list']['nodes'][7]['payload']} --json",
        f"retain path {max(t['table']['entries'], key=lambda e: e['pos'])['addr']} --json",
        f"retain path {t['interior']['block']} --json",
        f"retain path {t['local']['addr']} --json",
        f"retain path {t['tls']['addr']} --json",
        f"retain path {t['arena'][1]['addr']} --json",
        f"retain path {t['mmapped']['addr']} --json",
        f"retain path {t['two_roots']['addr']} -n 2 --json",
    ]
    body = """
out['answers'] = []
for c in ARGS:
    ans = retain(c)
    words = []
    for p in ans.get('paths', []):
        words.append([read_word(int(hop['slot'], 16)) if hop['slot'] else None
                      for hop in p['hops']])
    out['answers'].append({'answer': ans, 'words': words})
"""
    res = gdb_script(target, body, args=queries)
    checked = 0
    for q, item in zip(queries, res["answers"]):
        ans = item["answer"]
        assert "error" not in ans, (q, ans)
        check_path_answer(ans)
        assert ans["paths"], q
        for p, words in zip(ans["paths"], item["words"]):
            for hop, word in zip(p["hops"], words):
                assert h(hop["addr"]) <= h(hop["pointer"]) < h(hop["addr"]) + hop["size"], hop
                if hop["slot"] is None:
                    assert p["root"]["kind"] == "register", (q, p)
                    continue
                assert word == h(hop["pointer"]), (q, hop, hex(word))
                checked += 1
    assert checked >= 60
