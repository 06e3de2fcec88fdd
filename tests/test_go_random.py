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
import os
import random

from conftest import h, retain_json, retain_json_many
from test_go_common import check_go_path_answer

SEED = int(os.environ.get("RETAIN_TEST_SEED", "20240601"))
FIXTURE = "go/randgraph.go"
FIXTURE_ARGS = (SEED,)

N_REACHABLE = 30
N_UNREACHABLE = 10
N_INFO = 60


class Graph:
    def __init__(self, truth):
        self.truth = truth
        self.nodes = truth["nodes"]
        assert [n["id"] for n in self.nodes] == list(range(len(self.nodes)))
        self.addr = [h(n["addr"]) for n in self.nodes]
        self.index = {a: i for i, a in enumerate(self.addr)}
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
        self.reachable = sorted(self.dist)
        self.unreachable = [i for i in range(len(self.nodes)) if i not in self.dist]

    def hops(self, i):
        """Expected heap hops to node i, or None when unreachable."""
        return None if i not in self.dist else 2 + 2 * self.dist[i]


def sample(graph):
    rnd = random.Random(SEED)
    assert len(graph.reachable) >= N_REACHABLE and len(graph.unreachable) >= N_UNREACHABLE, (
        "the seed gives too few reachable or unreachable nodes")
    reach = rnd.sample(graph.reachable, N_REACHABLE)
    deepest = max(graph.reachable, key=lambda i: (graph.dist[i], i))
    if deepest not in reach:
        reach[0] = deepest
    unreach = rnd.sample(graph.unreachable, N_UNREACHABLE)

    def query(i):  # the node's start, or (1 time in 4) an address inside it
        size = graph.nodes[i]["size"]
        off = rnd.randrange(size) if rnd.random() < 0.25 else 0
        return i, graph.addr[i] + off
    return [query(i) for i in reach], [query(i) for i in unreach]


def check_chain(graph, i, ans):
    truth = graph.truth
    p = ans["paths"][0]
    root, hops = p["root"], p["hops"]
    assert root["kind"] == "global" and root["name"] == truth["global"] == "main.roots", root
    assert h(root["addr"]) == h(truth["global_addr"]), root  # the slice's data word
    assert len(hops) == graph.hops(i), (
        f"node {i}: path of {len(hops)} hops, want {graph.hops(i)} "
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
    graph = Graph(target.truth)
    reach, unreach = sample(graph)
    queries = reach + unreach
    answers = retain_json_many(target, [f"retain path {hex(q)}" for _, q in queries])
    failures = []
    for (i, q), ans in zip(queries, answers):
        try:
            check_go_path_answer(ans)
            assert h(ans["target"]["block"]) == graph.addr[i]
            assert ans["target"]["offset"] == q - graph.addr[i]
            assert ans["target"]["state"] == "in-use"
            assert ans["target"]["size"] >= graph.nodes[i]["size"]
            if i in graph.dist:
                assert ans["reachable"] is True
                check_chain(graph, i, ans)
            else:
                assert ans["reachable"] is False and ans["paths"] == [], "should be unreachable"
        except AssertionError as e:
            failures.append(f"node {i} query {hex(q)}: {e}")
    assert not failures, f"{len(failures)} of {len(queries)} queries wrong:\n" + "\n".join(
        failures[:20])


def test_info_distances(target):
    graph = Graph(target.truth)
    rnd = random.Random(SEED + 1)
    picked = rnd.sample(range(len(graph.nodes)), N_INFO)
    answers = retain_json_many(target, [f"retain info {hex(graph.addr[i])}" for i in picked])
    wrong = []
    for i, ans in zip(picked, answers):
        want = graph.hops(i)
        if (ans.get("distance", "missing") != want or ans.get("reachable") != (want is not None)
                or ans.get("state") != "in-use"):
            wrong.append((i, want, ans.get("distance"), ans.get("state"), ans.get("error")))
    assert not wrong, (f"{len(wrong)} wrong (node, want, got, state, error): {wrong[:20]}")


def test_stats(target):
    graph = Graph(target.truth)
    ans = retain_json(target, "retain stats")
    assert ans["heap"]["kind"] == "go", ans["heap"]
    assert ans["blocks"]["in_use"] >= len(graph.nodes)
    assert ans["edges"] >= len(graph.edges)
