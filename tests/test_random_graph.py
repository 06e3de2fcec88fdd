"""The seeded random graph (fixtures/random_graph.c): path lengths equal the
fixture's own BFS distances, every hop follows a recorded edge, and the
unreachable blocks are reported unreachable. Live and core.

RETAIN_TEST_SEED picks another graph (and another sample); the default is
fixed so that a failure reproduces."""

from conftest import GRAPH_SEED as SEED
from conftest import (HeapGraph, check_graph_info_distances, check_graph_paths,
                      check_path_answer, h, retain_json)

FIXTURE = "random_graph.c"
FIXTURE_ARGS = (SEED,)

N_REACHABLE = 200
N_UNREACHABLE = 50
N_INFO = 100


class Graph(HeapGraph):
    def __init__(self, truth):
        self.blocks = truth["blocks"]
        super().__init__(truth, self.blocks)
        self.hops = [b["dist"] for b in self.blocks]  # the fixture's own BFS
        # (src, offset) -> (dst, pointer value)
        self.edges = {}
        for i, b in enumerate(self.blocks):
            for off, to, ptr_off in b["edges"]:
                self.edges[(i, off)] = (to, self.addr[to] + ptr_off)
        # g_roots[k] -> (dst, pointer value)
        self.roots = {r["index"]: (r["to"], self.addr[r["to"]] + r["ptr_offset"])
                      for r in truth["roots"]}


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
    check_graph_paths(target, Graph(target.truth), SEED, N_REACHABLE, N_UNREACHABLE,
                      check_path_answer, check_chain)


def test_info_distances(target):
    check_graph_info_distances(target, Graph(target.truth), SEED + 1, N_INFO)


def test_stats_counts(target):
    graph = Graph(target.truth)
    ans = retain_json(target, "retain stats")
    assert ans["blocks"]["in_use"] >= len(graph.blocks)
    pairs = {(src, dst) for (src, _), (dst, _) in graph.edges.items()}
    assert ans["edges"] >= len(pairs)
    assert ans["roots"]["global"] >= len(graph.roots)
