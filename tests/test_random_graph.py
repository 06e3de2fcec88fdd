"""The seeded random graph (fixtures/random_graph.c): path lengths equal the
fixture's own BFS distances, every hop follows a recorded edge, and the
unreachable blocks are reported unreachable. Live and core.

RETAIN_TEST_SEED picks another graph (and another sample); the default is
fixed so that a failure reproduces."""

import os
import random

from conftest import check_path_answer, h, retain_json, retain_json_many

SEED = int(os.environ.get("RETAIN_TEST_SEED", "20240601"))
FIXTURE = "random_graph.c"
FIXTURE_ARGS = (SEED,)

N_REACHABLE = 200
N_UNREACHABLE = 50
N_INFO = 100


class Graph:
    def __init__(self, truth):
        self.truth = truth
        self.blocks = truth["blocks"]
        self.addr = [h(b["addr"]) for b in self.blocks]
        self.index = {a: i for i, a in enumerate(self.addr)}
        # (src, offset) -> (dst, pointer value)
        self.edges = {}
        for i, b in enumerate(self.blocks):
            for off, to, ptr_off in b["edges"]:
                self.edges[(i, off)] = (to, self.addr[to] + ptr_off)
        # g_roots[k] -> (dst, pointer value)
        self.roots = {r["index"]: (r["to"], self.addr[r["to"]] + r["ptr_offset"])
                      for r in truth["roots"]}
        self.reachable = [i for i, b in enumerate(self.blocks) if b["dist"] is not None]
        self.unreachable = [i for i, b in enumerate(self.blocks) if b["dist"] is None]


def sample(graph):
    rnd = random.Random(SEED)
    reach = rnd.sample(graph.reachable, N_REACHABLE)
    # make sure the deepest blocks are in
    deepest = max(graph.reachable, key=lambda i: graph.blocks[i]["dist"])
    if deepest not in reach:
        reach[0] = deepest
    unreach = rnd.sample(graph.unreachable, N_UNREACHABLE)
    # query the block start, or (1 time in 4) an address inside it
    def query(i):
        size = graph.blocks[i]["size"]
        off = rnd.randrange(size) if rnd.random() < 0.25 else 0
        return i, graph.addr[i] + off
    return [query(i) for i in reach], [query(i) for i in unreach]


def check_chain(graph, i, ans):
    """The shortest path has the truth's length and follows recorded edges."""
    truth = graph.truth
    p = ans["paths"][0]
    root, hops = p["root"], p["hops"]
    assert root["kind"] == "global" and root["name"] == truth["global"], root
    assert root["offset"] % 8 == 0
    k = root["offset"] // 8
    assert h(root["addr"]) == h(truth["global_addr"]) + root["offset"]
    dst, ptr = graph.roots[k]
    assert h(hops[0]["addr"]) == graph.addr[dst], (root, hops[0])
    assert h(hops[0]["pointer"]) == ptr
    for prev, hop in zip(hops, hops[1:]):
        src = graph.index[h(prev["addr"])]
        key = (src, hop["offset"])
        assert key in graph.edges, f"no recorded edge from block {src} at +{hop['offset']}: {hop}"
        dst, ptr = graph.edges[key]
        assert h(hop["addr"]) == graph.addr[dst], hop
        assert h(hop["pointer"]) == ptr, hop
        assert hop["interior"] == ptr - graph.addr[dst]
    assert h(hops[-1]["addr"]) == graph.addr[i]
    assert len(hops) == graph.blocks[i]["dist"], (
        f"block {i}: path of {len(hops)} hops, BFS distance {graph.blocks[i]['dist']}")


def test_paths_match_bfs_distances(target):
    graph = Graph(target.truth)
    reach, unreach = sample(graph)
    queries = reach + unreach
    answers = retain_json_many(target, [f"retain path {hex(q)}" for _, q in queries])
    failures = []
    for (i, q), ans in zip(queries, answers):
        try:
            assert "error" not in ans, ans
            check_path_answer(ans)
            assert h(ans["target"]["block"]) == graph.addr[i]
            assert ans["target"]["offset"] == q - graph.addr[i]
            assert ans["target"]["state"] == "in-use"
            assert ans["target"]["size"] >= graph.blocks[i]["size"]
            if graph.blocks[i]["dist"] is None:
                assert ans["reachable"] is False and ans["paths"] == [], "should be unreachable"
            else:
                assert ans["reachable"] is True
                check_chain(graph, i, ans)
        except AssertionError as e:
            failures.append(f"block {i} query {hex(q)}: {e}")
    assert not failures, f"{len(failures)} of {len(queries)} queries wrong:\n" + "\n".join(
        failures[:20])


def test_info_distances(target):
    graph = Graph(target.truth)
    rnd = random.Random(SEED + 1)
    picked = rnd.sample(range(len(graph.blocks)), N_INFO)
    answers = retain_json_many(target, [f"retain info {hex(graph.addr[i])}" for i in picked])
    wrong = []
    for i, ans in zip(picked, answers):
        want = graph.blocks[i]["dist"]
        if ans.get("distance", "missing") != want or ans.get("reachable") != (want is not None):
            wrong.append((i, want, ans.get("distance"), ans.get("error")))
    assert not wrong, f"{len(wrong)} wrong distances (block, truth, got, error): {wrong[:20]}"


def test_stats_counts(target):
    graph = Graph(target.truth)
    ans = retain_json(target, "retain stats")
    assert ans["blocks"]["in_use"] >= len(graph.blocks)
    pairs = {(src, dst) for (src, _), (dst, _) in graph.edges.items()}
    assert ans["edges"] >= len(pairs)
    assert ans["roots"]["global"] >= len(graph.roots)
