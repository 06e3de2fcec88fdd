"""C++ dynamic types (fixtures/vtable.cc): hops are named by the object's
dynamic class, found from its vtable pointer, live and core."""

from conftest import check_path_answer, h, retain_json, retain_json_many

FIXTURE = "vtable.cc"


def paths(target, addrs, opts="--kind global"):
    answers = retain_json_many(target, [f"retain path {a} {opts}" for a in addrs])
    for a, ans in zip(addrs, answers):
        assert "error" not in ans, (a, ans)
        check_path_answer(ans)
        assert ans["reachable"] is True, (a, ans)
    return answers


def test_array_objects_are_typed_by_dynamic_class(target):
    arr = target.truth["array"]
    objs = arr["objects"]
    for o, ans in zip(objs, paths(target, [o["addr"] for o in objs])):
        p = ans["paths"][0]
        assert p["root"]["name"] == arr["global"] == "g_shapes"
        assert p["root"]["offset"] == 8 * o["index"]
        assert len(p["hops"]) == 1
        hop = p["hops"][0]
        assert hop["type"] == o["class"], hop          # "Circle", not "Shape"
        assert hop["field"] == f"[{o['index']}]", hop
        assert ans["target"]["type"] == o["class"]
        assert ans["target"]["size"] >= o["size"]


def test_buffer_field_named_from_dynamic_class(target):
    objs = target.truth["array"]["objects"]
    for o, ans in zip(objs, paths(target, [o["buffer"] for o in objs])):
        hops = ans["paths"][0]["hops"]
        assert len(hops) == 2
        assert h(hops[0]["addr"]) == h(o["addr"])
        assert hops[0]["type"] == o["class"]
        assert h(hops[1]["addr"]) == h(o["buffer"])
        assert hops[1]["field"] == "." + o["buffer_field"], hops[1]   # .points / .pixels
        assert hops[1]["offset"] == 24


def test_base_class_member(target):
    """The tag buffer is held by Shape::tag, a base-class member."""
    objs = target.truth["array"]["objects"][:2]
    for o, ans in zip(objs, paths(target, [o["tag"] for o in objs])):
        hops = ans["paths"][0]["hops"]
        assert hops[0]["type"] == o["class"]
        assert hops[1]["offset"] == 8
        assert "tag" in hops[1]["field"], hops[1]


def test_vector_elements(target):
    vec = target.truth["vector"]
    objs = vec["objects"]
    for o, ans in zip(objs, paths(target, [o["addr"] for o in objs])):
        p = ans["paths"][0]
        assert p["root"]["name"] == vec["global"] == "g_shape_vec"
        hops = p["hops"]
        assert len(hops) == 2
        assert h(hops[0]["addr"]) == h(vec["storage"])
        assert h(hops[1]["addr"]) == h(o["addr"])
        assert hops[1]["offset"] == 8 * o["index"]
        assert hops[1]["type"] == o["class"], hops[1]


def test_info_type_and_who_field(target):
    o = target.truth["array"]["objects"][0]          # a Circle
    ans = retain_json(target, f"retain info {o['addr']}")
    assert ans["type"] == o["class"] == "Circle"
    assert ans["distance"] == 1
    ans = retain_json(target, f"retain who {o['buffer']}")
    refs = [r for r in ans["referrers"] if r["kind"] == "block"]
    assert len(refs) == 1
    assert h(refs[0]["addr"]) == h(o["addr"])
    assert refs[0]["type"] == "Circle"
    assert refs[0]["field"] == ".points"
