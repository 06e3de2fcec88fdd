"""The seeded random graph of Go structs (fixtures/go/randgraph.go): path
lengths follow the BFS distances over the fixture's recorded edges, every
hop follows a recorded edge, and the nodes no root reaches (kept allocated:
the fixture turned the collector off) are reported unreachable. Live and
core, optimized and -N -l builds.

Heap hops to a node at BFS distance k (graph edges from a root node):
main.roots -> roots backing array -> root node (-> .edges backing array ->
node) x k, so 2 + 2k.

RETAIN_TEST_SEED picks another graph (and another sample); the default is
fixed so that a failure reproduces."""

import collections

from conftest import GRAPH_SEED as SEED
from conftest import (HeapGraph, check_graph_info_distances, check_graph_paths, h,
                      retain_json)
from test_go_common import check_go_path_answer

FIXTURE = "go/randgraph.go"
FIXTURE_ARGS = (SEED,)

N_REACHABLE = 30
N_UNREACHABLE = 10
N_INFO = 60


class Graph(HeapGraph):
    def __init__(self, truth):
        self.nodes = truth["nodes"]
        assert [n["id"] for n in self.nodes] == list(range(len(self.nodes)))
        super().__init__(truth, self.nodes)
        self.array = [h(n["edges_array"]) for n in self.nodes]
        self.edges = {(e["from"], e["field"]): e["to"] for e in truth["edges"]}
        self.roots = {r["index"]: r["node"] for r in truth["roots"]}
        self.roots_array = h(truth["roots_array"])
        # BFS over the recorded edges, from the root nodes (distance 0)
        adj = collections.defaultdict(list)
        for (src, _), dst in sorted(self.edges.items()):
            adj[src].append(dst)
        self.dist = {}
        queue = collections.deque()
        for k in sorted(self.roots):
            r = self.roots[k]
            if r not in self.dist:
                self.dist[r] = 0
                queue.append(r)
        while queue:
            u = queue.popleft()
            for v in adj[u]:
                if v not in self.dist:
                    self.dist[v] = self.dist[u] + 1
                    queue.append(v)
        # expected heap hops to each node, None when unreachable
        self.hops = [None if i not in self.dist else 2 + 2 * self.dist[i]
                     for i in range(len(self.nodes))]


def check_chain(graph, i, ans):
    truth = graph.truth
    p = ans["paths"][0]
    root, hops = p["root"], p["hops"]
    assert root["kind"] == "global" and root["name"] == truth["global"] == "main.roots", root
    assert h(root["addr"]) == h(truth["global_addr"]), root  # the slice's data word
    assert len(hops) == graph.hops[i], (
        f"node {i}: path of {len(hops)} hops, want {graph.hops[i]} "
        f"(BFS distance {graph.dist[i]})")
    assert h(hops[0]["addr"]) == graph.roots_array, hops[0]
    # hop 1: a root node, from slot k of the roots array
    k, rem = divmod(hops[1]["offset"], 8)
    assert rem == 0 and k in graph.roots, hops[1]
    assert h(hops[1]["addr"]) == graph.addr[graph.roots[k]], hops[1]
    node = graph.roots[k]
    # then pairs: the node's edges array, the next node
    for j in range(2, len(hops), 2):
        arr, nxt = hops[j], hops[j + 1]
        assert graph.array[node] is not None, f"node {node} has no edges: {arr}"
        assert h(arr["addr"]) == graph.array[node], (node, arr)
        assert arr["offset"] == truth["edges_field"], arr
        assert arr["field"] == ".edges", arr
        field, rem = divmod(nxt["offset"], 8)
        assert rem == 0 and (node, field) in graph.edges, (
            f"no recorded edge from node {node} field {field}: {nxt}")
        to = graph.edges[(node, field)]
        assert h(nxt["addr"]) == graph.addr[to], (node, field, nxt)
        assert nxt["field"] == f"[{field}]", nxt
        assert nxt["interior"] == 0, nxt
        assert nxt["type"] in (None, "main.node"), nxt
        node = to
    assert node == i


def test_paths_match_bfs_distances(target):
    check_graph_paths(target, Graph(target.truth), SEED, N_REACHABLE, N_UNREACHABLE,
                      check_go_path_answer, check_chain)


def test_info_distances(target):
    check_graph_info_distances(target, Graph(target.truth), SEED + 1, N_INFO)


def test_stats(target):
    graph = Graph(target.truth)
    ans = retain_json(target, "retain stats")
    assert ans["heap"]["kind"] == "go", ans["heap"]
    assert ans["blocks"]["in_use"] >= len(graph.nodes)
    assert ans["edges"] >= len(graph.edges)
